import { describe, expect, it } from "vitest";
import { isLoopback, reachableTemporalUiUrl } from "./temporalUi";

const LINK = "http://127.0.0.1:8233/namespaces/default/workflows/run-main-x-1234";

describe("reachableTemporalUiUrl", () => {
  it("hides a loopback link from a page opened on another host", () => {
    expect(reachableTemporalUiUrl(LINK, "durastack.example.com")).toBeNull();
    expect(reachableTemporalUiUrl("http://localhost:8233/x", "10.0.0.5")).toBeNull();
    expect(reachableTemporalUiUrl("http://[::1]:8233/x", "box")).toBeNull();
  });

  it("shows a loopback link to a page on loopback too (the same machine)", () => {
    expect(reachableTemporalUiUrl(LINK, "127.0.0.1")).toBe(LINK);
    expect(reachableTemporalUiUrl(LINK, "localhost")).toBe(LINK);
    expect(reachableTemporalUiUrl(LINK, "[::1]")).toBe(LINK);
  });

  it("shows a link on a real host to any page", () => {
    const link = "https://temporal.example.com/namespaces/default/workflows/w";
    expect(reachableTemporalUiUrl(link, "durastack.example.com")).toBe(link);
    expect(reachableTemporalUiUrl(link, "localhost")).toBe(link);
  });

  it("shows nothing without a link (not a global admin) or with one it can't read", () => {
    expect(reachableTemporalUiUrl(null, "localhost")).toBeNull();
    expect(reachableTemporalUiUrl("not a url", "localhost")).toBeNull();
    expect(reachableTemporalUiUrl("javascript:alert(1)", "localhost")).toBeNull();
  });
});

describe("isLoopback", () => {
  it("knows the loopback names and addresses", () => {
    expect(["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "app.localhost"].every(isLoopback))
      .toBe(true);
    expect(["10.0.0.1", "example.com", "localhost.example.com", "0.0.0.0"].some(isLoopback)).toBe(false);
  });
});
