// What a batch action's per-run outcomes (api/services/run_messages.py) mean for a person.

import type { RunOutcome } from "../api/types";

export type BatchAction = "stop" | "abort" | "delete" | "scale";

const SUCCESS: Record<BatchAction, string> = { stop: "stopping", abort: "stopping", delete: "deleted", scale: "scaled" };

const VERB: Record<BatchAction, { doing: string; failed: string }> = {
  stop: { doing: "Stopping", failed: "stopped" },
  abort: { doing: "Aborting", failed: "aborted" },
  delete: { doing: "Deleted", failed: "deleted" },
  scale: { doing: "Scaling", failed: "scaled" },
};

export interface OutcomeMessage {
  type: "success" | "warning" | "error";
  header: string;
  /** One line per run whose outcome was not the action's success, "name: why". */
  problems: string[];
}

export function isSuccess(action: BatchAction, outcome: string): boolean {
  return outcome === SUCCESS[action];
}

/** "not_found" → "not found"; "error: forbidden: …" → "forbidden: …". */
export function describeOutcome(outcome: string): string {
  if (outcome === "not_found") return "not found";
  if (outcome === "already_finished") return "already finished";
  return outcome.replace(/^error: /, "");
}

const runs = (count: number): string => `${count} run${count === 1 ? "" : "s"}`;

export function outcomeMessage(action: BatchAction, results: RunOutcome[]): OutcomeMessage {
  const problems = results
    .filter((result) => !isSuccess(action, result.outcome))
    .map((result) => `${result.run_name}: ${describeOutcome(result.outcome)}`);
  const done = results.length - problems.length;
  const verb = VERB[action];
  if (problems.length === 0) return { type: "success", header: `${verb.doing} ${runs(done)}`, problems };
  if (done === 0) {
    const header = problems.length === 1 ? `The run could not be ${verb.failed}`
      : `None of the ${runs(problems.length)} could be ${verb.failed}`;
    return { type: "error", header, problems };
  }
  return { type: "warning", header: `${verb.doing} ${runs(done)}; ${runs(problems.length)} could not be ${verb.failed}`,
    problems };
}
