// What a batch action's per-run outcomes (api/services/run_messages.py) mean for a person: which
// runs took it, by name, and which could not, and why.

import type { RunOutcome } from "../api/types";

export type BatchAction = "stop" | "abort" | "delete" | "scale";

const SUCCESS: Record<BatchAction, string> = { stop: "stopping", abort: "stopping", delete: "deleted", scale: "scaled" };

const VERB: Record<BatchAction, { doing: string; failed: string }> = {
  stop: { doing: "Stopping", failed: "stopped" },
  abort: { doing: "Aborting", failed: "aborted" },
  delete: { doing: "Deleted", failed: "deleted" },
  scale: { doing: "Scaled", failed: "scaled" },
};

/** How many names a message spells out before it counts the rest. */
const MAX_NAMED = 5;

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

/** "a", "a and b", "a, b and c", "a, b, c, d, e and 3 more". */
export function nameList(names: string[]): string {
  if (names.length > MAX_NAMED) {
    return `${names.slice(0, MAX_NAMED).join(", ")} and ${names.length - MAX_NAMED} more`;
  }
  if (names.length <= 1) return names[0] ?? "";
  return `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

/** "Stopping a and b", "Scaled web to 3 replicas". */
function didWhat(action: BatchAction, names: string[], replicas: number | undefined): string {
  const what = `${VERB[action].doing} ${nameList(names)}`;
  return action === "scale" && replicas !== undefined ? `${what} to ${replicas} replica${replicas === 1 ? "" : "s"}`
    : what;
}

/** `replicas`: where a scale was asked to go, for its message. */
export function outcomeMessage(action: BatchAction, results: RunOutcome[], replicas?: number): OutcomeMessage {
  const failed = results.filter((result) => !isSuccess(action, result.outcome));
  const problems = failed.map((result) => `${result.run_name}: ${describeOutcome(result.outcome)}`);
  const done = results.filter((result) => isSuccess(action, result.outcome)).map((result) => result.run_name);
  const verb = VERB[action];
  if (problems.length === 0) return { type: "success", header: didWhat(action, done, replicas), problems };
  if (done.length === 0) {
    const header = failed.length === 1 ? `${failed[0]?.run_name} could not be ${verb.failed}`
      : `None of the ${runs(failed.length)} could be ${verb.failed}`;
    return { type: "error", header, problems };
  }
  return { type: "warning", header: `${didWhat(action, done, replicas)}; ${runs(problems.length)} could not be ${verb.failed}`,
    problems };
}
