import { describe, expect, it } from "vitest";
import { parseRoute, pinnedRunHref, routeHref, runHref, submitHref } from "./routes";

describe("parseRoute", () => {
  it("knows the home page and the runs list, with or without a trailing slash", () => {
    expect(parseRoute("/")).toEqual({ kind: "home" });
    expect(parseRoute("")).toEqual({ kind: "home" });
    expect(parseRoute("/runs")).toEqual({ kind: "runs", search: "" });
    expect(parseRoute("/runs/")).toEqual({ kind: "runs", search: "" });
    expect(parseRoute("/runs", "?history=web&project=main")).toEqual({ kind: "runs", search: "?history=web&project=main" });
  });

  it("reads a run's project and name, and its id when given", () => {
    expect(parseRoute("/projects/main/runs/hello")).toEqual({ kind: "run", project: "main", name: "hello", id: null });
    expect(parseRoute("/projects/main/runs/hello", "?id=abc-1")).toEqual(
      { kind: "run", project: "main", name: "hello", id: "abc-1" });
    expect(parseRoute("/projects/main/runs/hello", "?id=")).toEqual(
      { kind: "run", project: "main", name: "hello", id: null });
  });

  it("decodes escaped parts", () => {
    expect(parseRoute("/projects/my%20lab/runs/a%2Fb")).toEqual({ kind: "run", project: "my lab", name: "a/b", id: null });
  });

  it("knows the submit page, with or without a project, and the admin pages", () => {
    expect(parseRoute("/submit")).toEqual({ kind: "submit", project: null });
    expect(parseRoute("/projects/my%20lab/submit/")).toEqual({ kind: "submit", project: "my lab" });
    expect(parseRoute("/projects")).toEqual({ kind: "projects" });
    expect(parseRoute("/fleets/")).toEqual({ kind: "fleets" });
    expect(parseRoute("/users")).toEqual({ kind: "users" });
    expect(parseRoute("/profile")).toEqual({ kind: "profile" });
  });

  it("calls anything else not found", () => {
    expect(parseRoute("/projects/%E0%A4%A/submit")).toEqual({ kind: "not_found", path: "/projects/%E0%A4%A/submit" });
    expect(parseRoute("/projects/main")).toEqual({ kind: "not_found", path: "/projects/main" });
    expect(parseRoute("/projects/main/runs/a/b")).toEqual({ kind: "not_found", path: "/projects/main/runs/a/b" });
    expect(parseRoute("/projects/%E0%A4%A/runs/x")).toEqual({ kind: "not_found", path: "/projects/%E0%A4%A/runs/x" });
  });
});

describe("routeHref", () => {
  it("round-trips through parseRoute", () => {
    const href = runHref("my lab", "a/b", "id 1");
    expect(href).toBe("/projects/my%20lab/runs/a%2Fb?id=id%201");
    const [path, search] = href.split("?");
    expect(parseRoute(path ?? "", `?${search}`)).toEqual({ kind: "run", project: "my lab", name: "a/b", id: "id 1" });
    expect(routeHref({ kind: "runs", search: "" })).toBe("/runs");
    expect(routeHref({ kind: "runs", search: "?history=web" })).toBe("/runs?history=web");
    expect(routeHref({ kind: "home" })).toBe("/");
    for (const route of [{ kind: "submit", project: "my lab" }, { kind: "submit", project: null }, { kind: "projects" },
      { kind: "users" }, { kind: "fleets" }, { kind: "profile" }] as const) {
      expect(parseRoute(routeHref(route))).toEqual(route);
    }
    expect(submitHref("a/b")).toBe("/projects/a%2Fb/submit");
  });
});

describe("pinnedRunHref", () => {
  it("adds the shown run's id to an address by name, so that a reload shows the same run", () => {
    expect(pinnedRunHref("/projects/main/runs/hello", "", "abc-1")).toBe("/projects/main/runs/hello?id=abc-1");
    expect(parseRoute("/projects/main/runs/hello", "?id=abc-1")).toMatchObject({ id: "abc-1" });
  });

  it("leaves a pinned address alone, and replaces another run's id", () => {
    expect(pinnedRunHref("/projects/main/runs/hello", "?id=abc-1", "abc-1")).toBeNull();
    expect(pinnedRunHref("/projects/main/runs/hello", "?id=old&tab=logs", "abc-1"))
      .toBe("/projects/main/runs/hello?id=abc-1&tab=logs");
  });
});
