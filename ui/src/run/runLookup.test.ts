import { describe, expect, it } from "vitest";
import { ApiClient, ApiError } from "../api/client";
import type { Run } from "../api/types";
import { historyOfName, isNotFound, loadShown } from "./runLookup";

const run = (id: string): Run => ({ id, project_name: "main", run_name: "web" } as Run);

/** A server answering each path from a list (an Error answers 404), recording the bodies it was sent. */
function server(answers: Record<string, (unknown | Error)[]>): { api: ApiClient; asked: string[] } {
  const asked: string[] = [];
  const api = new ApiClient("t", "", async (url, init) => {
    const path = url.replace(/^\/api\/(project\/main\/)?/, "");
    asked.push(`${path} ${String(init.body)}`);
    const answer = answers[path]?.shift();
    return answer instanceof Error ? new Response(JSON.stringify({ detail: answer.message }), { status: 404 })
      : new Response(JSON.stringify(answer));
  });
  return { api, asked };
}

describe("loadShown", () => {
  it("by name reads the latest run of the name, which is then what it pins", async () => {
    const { api, asked } = server({ "runs/get": [run("r-1")] });
    expect(await loadShown(api, "main", "web", null)).toEqual({ run: run("r-1"), latest: run("r-1") });
    expect(asked).toEqual(['runs/get {"run_name":"web"}']);
  });

  it("pinned, reads that run by id and the name's latest run that is not deleted", async () => {
    const { api, asked } = server({ "runs/get": [run("r-1")], "runs/list": [[run("r-2")]] });
    expect(await loadShown(api, "main", "web", "r-1")).toEqual({ run: run("r-1"), latest: run("r-2") });
    expect(asked).toEqual(['runs/get {"id":"r-1"}',
      'runs/list {"project_name":"main","run_name":"web","include_deleted":false,"limit":1}']);
  });

  it("is refused with a 404 the page stops polling on", async () => {
    const { api } = server({ "runs/get": [new Error("run web not found")] });
    const error = await loadShown(api, "main", "web", null).catch((e: unknown) => e);
    expect(isNotFound(error)).toBe(true);
    expect(isNotFound(new ApiError(503, "unavailable"))).toBe(false);
    expect(isNotFound(new Error("network"))).toBe(false);
  });
});

describe("historyOfName", () => {
  it("lists every run of the name, deleted ones too, and nothing when it can't", async () => {
    const { api, asked } = server({ "runs/list": [[run("r-2"), run("r-1")], new Error("project gone")] });
    expect((await historyOfName(api, "main", "web")).map((r) => r.id)).toEqual(["r-2", "r-1"]);
    expect(asked).toEqual(['runs/list {"project_name":"main","run_name":"web","include_deleted":true,"limit":10}']);
    expect(await historyOfName(api, "main", "web")).toEqual([]);
  });
});
