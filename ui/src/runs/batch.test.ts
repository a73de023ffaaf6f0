import { describe, expect, it } from "vitest";
import { ApiClient } from "../api/client";
import { idsByProject, runBatch } from "./batch";

const run = (project_name: string, run_name: string) => ({ id: `${project_name}-${run_name}-id`, project_name, run_name });

function recordingClient(answer: (path: string, body: { runs_names: string[] }) => Response) {
  const requests: { path: string; body: { runs_names: string[]; abort?: boolean } }[] = [];
  const client = new ApiClient("secret", "", async (path, init) => {
    const body = JSON.parse(String(init.body)) as { runs_names: string[] };
    requests.push({ path, body });
    expect(new Headers(init.headers).get("Authorization")).toBe("Bearer secret");
    return answer(path, body);
  });
  return { client, requests };
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });

describe("idsByProject", () => {
  it("groups ids by project, in order, once each", () => {
    const a = run("main", "a");
    expect(idsByProject([a, run("lab", "b"), run("main", "c"), a])).toEqual(new Map([
      ["main", ["main-a-id", "main-c-id"]],
      ["lab", ["lab-b-id"]],
    ]));
  });
});

describe("runBatch", () => {
  it("sends one request per project with the runs' ids, and names the outcomes by run name", async () => {
    const { client, requests } = recordingClient((_, body) =>
      json({ results: body.runs_names.map((id) => ({ run_name: id, id, outcome: "stopping" })) }));
    const outcomes = await runBatch(client, "stop", [run("main", "a"), run("main", "b"), run("lab", "c")]);
    expect(requests).toEqual([
      { path: "/api/project/main/runs/stop", body: { runs_names: ["main-a-id", "main-b-id"], abort: false } },
      { path: "/api/project/lab/runs/stop", body: { runs_names: ["lab-c-id"], abort: false } },
    ]);
    expect(outcomes.map((outcome) => [outcome.run_name, outcome.outcome])).toEqual(
      [["a", "stopping"], ["b", "stopping"], ["c", "stopping"]]);
  });

  it("aborts and deletes with their own requests", async () => {
    const { client, requests } = recordingClient(() => json({ results: [] }));
    await runBatch(client, "abort", [run("main", "a")]);
    await runBatch(client, "delete", [run("main", "a")]);
    expect(requests).toEqual([
      { path: "/api/project/main/runs/stop", body: { runs_names: ["main-a-id"], abort: true } },
      { path: "/api/project/main/runs/delete", body: { runs_names: ["main-a-id"] } },
    ]);
  });

  it("turns a refused request into an outcome for each of its runs", async () => {
    const { client } = recordingClient((path) => path.includes("/lab/")
      ? json({ status_code: 404, detail: "project lab not found" }, 404)
      : json({ results: [{ run_name: "main-a-id", id: "main-a-id", outcome: "stopping" }] }));
    const outcomes = await runBatch(client, "stop", [run("main", "a"), run("lab", "b")]);
    expect(outcomes).toEqual([
      { run_name: "a", id: "main-a-id", outcome: "stopping" },
      { run_name: "b", id: "lab-b-id", outcome: "error: project lab not found" },
    ]);
  });
});
