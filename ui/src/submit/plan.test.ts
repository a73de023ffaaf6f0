import { describe, expect, it } from "vitest";
import { ApiClient } from "../api/client";
import type { Run, RunPlan } from "../api/types";
import { applyPlan, MAX_CONFIGURATION_YAML_CHARS, planKeepingCode, planStep, runSpecOf } from "./plan";

const plan = (change: Partial<RunPlan>): RunPlan => ({ run_name: "web", action: "create", current_run: null,
  finished_runs: 0, changes: [], message: "Submit the run web?", ...change });

const run = (status: Run["status"]): Run => ({ id: "r-1", project_name: "main", run_name: "web", status } as Run);

describe("planStep", () => {
  it("asks nothing for a name nobody used", () => {
    expect(planStep(plan({}))).toEqual({ kind: "submit" });
    expect(planStep(plan({ run_name: null }))).toEqual({ kind: "submit" });
  });

  it("asks the plan's question otherwise", () => {
    expect(planStep(plan({ finished_runs: 2 }))).toMatchObject({ kind: "confirm", confirmLabel: "Submit" });
    expect(planStep(plan({ action: "update" }))).toMatchObject({ kind: "confirm", confirmLabel: "Update the run" });
    expect(planStep(plan({ action: "replace" }))).toMatchObject({ kind: "confirm", confirmLabel: "Stop it and submit" });
  });

  it("has nothing to do when the active run has this configuration", () => {
    expect(planStep(plan({ action: "no_change" })).kind).toBe("nothing_to_do");
  });
});

/** A server that answers each path from a list, in order, and records what it was asked. */
function server(answers: Record<string, unknown[]>): { api: ApiClient; asked: string[] } {
  const asked: string[] = [];
  const api = new ApiClient("t", "", async (url, init) => {
    const path = url.replace("/api/project/main/", "");
    asked.push(`${path} ${String(init.body)}`);
    return new Response(JSON.stringify(answers[path]?.shift()));
  });
  return { api, asked };
}

describe("applyPlan", () => {
  const spec = { configuration: { type: "task", commands: ["echo"] }, run_name: null };

  it("applies at once unless the active run must be replaced", async () => {
    const { api, asked } = server({ "runs/apply": [run("submitted")] });
    expect(await applyPlan(api, "main", spec, plan({ action: "update" }))).toMatchObject({ status: "submitted" });
    expect(asked).toEqual([`runs/apply ${JSON.stringify({ run_spec: spec })}`]);
  });

  it("stops the active run by id and waits for its end before applying", async () => {
    const { api, asked } = server({
      "runs/stop": [{ results: [{ run_name: "r-1", id: "r-1", outcome: "stopping" }] }],
      "runs/get": [run("terminating"), run("terminated")],
      "runs/apply": [{ ...run("submitted"), id: "r-2" }],
    });
    const progress: string[] = [];
    const applied = await applyPlan(api, "main", spec, plan({ action: "replace", current_run: run("running") }),
      (message) => progress.push(message), async () => undefined);
    expect(applied.id).toBe("r-2");
    expect(asked.map((line) => line.split(" ")[0])).toEqual(["runs/stop", "runs/get", "runs/get", "runs/apply"]);
    expect(asked[0]).toContain('"runs_names":["r-1"],"abort":false');
    expect(progress).toEqual(["Stopping web…", "Waiting for web to finish (terminating)…",
      "Waiting for web to finish (terminated)…", "Submitting…"]);
  });

  it("does not submit when the active run could not be stopped", async () => {
    const { api, asked } = server({ "runs/stop": [{ results: [{ run_name: "r-1", id: "r-1",
      outcome: "error: forbidden: only the run's owner or a project admin/manager may stop it" }] }] });
    await expect(applyPlan(api, "main", spec, plan({ action: "replace", current_run: run("running") })))
      .rejects.toThrow("Could not stop web: forbidden: only the run's owner");
    expect(asked).toHaveLength(1);
  });
});

describe("runSpecOf", () => {
  it("sends the text along with what it parses to, up to the size the server keeps", () => {
    const configuration = { type: "task", commands: ["echo"] };
    expect(runSpecOf(configuration, "type: task\ncommands: [echo]\n", " hello ")).toEqual(
      { configuration, configuration_yaml: "type: task\ncommands: [echo]\n", run_name: "hello" });
    expect(runSpecOf(configuration, "#".repeat(MAX_CONFIGURATION_YAML_CHARS + 1), "")).toEqual(
      { configuration, configuration_yaml: null, run_name: null });
  });
});

describe("planKeepingCode", () => {
  const spec = { configuration: { type: "service", port: 80, commands: ["serve"] }, run_name: "web" };
  const CODE = "ab".repeat(32);

  it("keeps the code an active run took along, which the page can't upload", async () => {
    const active = { ...run("running"), repo_code_hash: CODE };
    const { api, asked } = server({ "runs/get_plan": [
      plan({ action: "rolling_update", current_run: active }), plan({ action: "no_change", current_run: active })] });
    const planned = await planKeepingCode(api, "main", spec);
    expect(planned.plan.action).toBe("no_change");
    expect(planned.spec).toEqual({ ...spec, repo_code_hash: CODE });
    expect(asked).toEqual([`runs/get_plan ${JSON.stringify({ run_spec: spec })}`,
      `runs/get_plan ${JSON.stringify({ run_spec: { ...spec, repo_code_hash: CODE } })}`]);
  });

  it("asks once when there is no active run, or it has no code", async () => {
    for (const current of [null, { ...run("running"), repo_code_hash: null }]) {
      const { api, asked } = server({ "runs/get_plan": [plan({ action: "replace", current_run: current })] });
      const planned = await planKeepingCode(api, "main", spec);
      expect([planned.plan.action, planned.spec, asked.length]).toEqual(["replace", spec, 1]);
    }
  });
});
