// Who may stop, abort, delete or scale which runs (the API says so per run and caller:
// `can_manage`), what a batch of selected runs acts on, and what its confirmation says.

import type { Confirmation } from "../components/ConfirmAction";
import type { Run } from "../api/types";
import { nameList } from "./outcomes";
import { isFinished } from "./status";

export type RunAction = "stop" | "abort" | "delete";

type Managed = Pick<Run, "id" | "run_name" | "status" | "deleted" | "can_manage">;

const VERB: Record<RunAction | "scale", string> = { stop: "stop", abort: "abort", delete: "delete", scale: "scale" };

/** Why the caller may not act on a run (core/roles.py may_manage_run). */
export const notYoursReason = (action: RunAction | "scale", count = 1): string => count === 1
  ? `Only its owner or a project admin or manager may ${VERB[action]} this run.`
  : `Only their owners or a project admin or manager may ${VERB[action]} these runs.`;

/** Whether the action means anything for the run: stop and abort an active run, delete a finished one. */
export const applies = (action: RunAction, run: Pick<Run, "status" | "deleted">): boolean =>
  action === "delete" ? isFinished(run.status) && !run.deleted : !isFinished(run.status);

export interface BatchPlan<T extends Managed> {
  /** The runs the request carries: the selected runs the caller may manage. */
  acting: T[];
  /** Selected runs the caller may not manage: left alone, and named. */
  skipped: T[];
  /** Why the action's button is disabled; null when it is enabled. */
  disabledReason: string | null;
}

/** What the action does with the selection: it acts only on the runs the caller may manage, and
 * is disabled (saying why) when none of those is one the action applies to. */
export function planBatch<T extends Managed>(action: RunAction, selected: T[]): BatchPlan<T> {
  const acting = selected.filter((run) => run.can_manage);
  const skipped = selected.filter((run) => !run.can_manage);
  const applicable = selected.filter((run) => applies(action, run));
  let disabledReason: string | null = null;
  if (!selected.length) disabledReason = `Select the runs to ${VERB[action]}.`;
  else if (!applicable.length) {
    disabledReason = action === "delete" ? "Only finished runs that are not deleted can be deleted."
      : "The selected runs have finished.";
  } else if (!applicable.some((run) => run.can_manage)) disabledReason = notYoursReason(action, applicable.length);
  return { acting, skipped, disabledReason };
}


/** A question about runs: its body is plain text. */
export type RunConfirmation = Confirmation & { body: string };

const WHAT_HAPPENS: Record<RunAction, string> = {
  stop: "Each replica is sent SIGTERM and given its stop_duration to exit before it is killed.",
  abort: "Each replica is killed at once, without a graceful stop (no SIGTERM, no stop_duration).",
  delete: "Deleted runs leave the list but stay in history: they open by id, with their logs, and show under "
    + "“Show deleted”.",
};

/** The question a destructive action asks before it runs, naming the runs. */
export function confirmation(action: RunAction, acting: Pick<Run, "run_name">[],
  skipped: Pick<Run, "run_name">[] = []): RunConfirmation {
  const names = acting.map((run) => run.run_name);
  const verb = VERB[action];
  const title = `${verb[0]?.toUpperCase()}${verb.slice(1)}`;
  const what = acting.length === 1 ? `run ${names[0]}` : `${acting.length} runs`;
  return {
    header: `${title} ${what}?`,
    action: title,
    body: `${acting.length === 1 ? "" : `${title} ${nameList(names)}. `}${WHAT_HAPPENS[action]}`,
    skippedNote: skipped.length
      ? `${nameList(skipped.map((run) => run.run_name))} ${skipped.length === 1 ? "is" : "are"} left as ${
        skipped.length === 1 ? "it is" : "they are"}: ${notYoursReason(action, skipped.length).toLowerCase()}`
      : null,
  };
}
