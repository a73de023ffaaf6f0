// Submitting as the CLI's `apply` does: ask for the plan first, ask the person the plan's question
// when there is one, and for a `replace` stop the active run gracefully and wait for it to finish
// before the new configuration is applied.

import type { ApiClient } from "../api/client";
import { applyRun, getPlan, getRun, stopRuns } from "../api/endpoints";
import type { Run, RunPlan, RunSpec } from "../api/types";
import { describeOutcome } from "../runs/outcomes";
import { isFinished } from "../runs/status";

export type PlanStep =
  /** A name nobody used (or a generated one): nothing to ask. */
  | { kind: "submit" }
  /** The plan's question: reuse a finished run's name, update the active run, or replace it. */
  | { kind: "confirm"; plan: RunPlan; confirmLabel: string }
  /** The active run of that name already has this configuration. */
  | { kind: "nothing_to_do"; plan: RunPlan };

const CONFIRM_LABEL: Record<RunPlan["action"], string> = {
  create: "Submit",
  update: "Update the run",
  rolling_update: "Roll it out",
  replace: "Stop it and submit",
  no_change: "Submit",
};

export function planStep(plan: RunPlan): PlanStep {
  if (plan.action === "no_change") return { kind: "nothing_to_do", plan };
  if (plan.action === "create" && plan.finished_runs === 0) return { kind: "submit" };
  return { kind: "confirm", plan, confirmLabel: CONFIRM_LABEL[plan.action] };
}

/** The server keeps a configuration's text up to this size (core/configuration.py,
 * MAX_CONFIGURATION_YAML_CHARS); a larger one is sent without it, and its run page renders it. */
export const MAX_CONFIGURATION_YAML_CHARS = 512 * 1024;

/** The spec for a configuration parsed from `text`: the text goes along, so that the run shows it as written. */
export function runSpecOf(configuration: Record<string, unknown>, text: string, runName: string): RunSpec {
  return {
    configuration,
    configuration_yaml: text.length <= MAX_CONFIGURATION_YAML_CHARS ? text : null,
    run_name: runName.trim() || null,
  };
}

/** The plan for `spec`, and the spec to apply. The page uploads no code, so when the active run of
 * the name took code along (the CLI uploads the configuration's directory), the spec keeps that code:
 * the same configuration is then no change, where sending none would roll out replicas without it. */
export async function planKeepingCode(api: ApiClient, project: string,
  spec: RunSpec): Promise<{ plan: RunPlan; spec: RunSpec }> {
  const plan = await getPlan(api, project, spec);
  const code = plan.current_run?.repo_code_hash;
  if (!code || spec.repo_code_hash) return { plan, spec };
  const keeping = { ...spec, repo_code_hash: code };
  return { plan: await getPlan(api, project, keeping), spec: keeping };
}

export const STOP_POLL_MS = 1000;

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Applies the spec as the plan said; for `replace`, stops the active run and waits for its end
 * first, telling `onProgress` what it waits for. */
export async function applyPlan(api: ApiClient, project: string, spec: RunSpec, plan: RunPlan,
  onProgress: (message: string) => void = () => undefined, wait: (ms: number) => Promise<void> = pause): Promise<Run> {
  const current = plan.current_run;
  if (plan.action === "replace" && current) {
    onProgress(`Stopping ${current.run_name}…`);
    const { results } = await stopRuns(api, project, [current.id], false);
    const outcome = results[0]?.outcome ?? "not_found";
    if (outcome !== "stopping" && outcome !== "already_finished") {
      throw new Error(`Could not stop ${current.run_name}: ${describeOutcome(outcome)}`);
    }
    let run = current;
    while (!isFinished(run.status)) {
      await wait(STOP_POLL_MS);
      run = await getRun(api, project, { id: current.id });
      onProgress(`Waiting for ${current.run_name} to finish (${run.status})…`);
    }
  }
  onProgress("Submitting…");
  return applyRun(api, project, spec);
}
