import { describe, expect, it } from "vitest";
import { applies, confirmation, notYoursReason, planBatch } from "./manage";

const run = (run_name: string, status: string, can_manage: boolean, deleted = false) =>
  ({ id: `${run_name}-id`, run_name, status: status as "running", deleted, can_manage });

describe("planBatch", () => {
  it("acts on the runs the caller may manage, and names the rest", () => {
    const mine = run("mine", "running", true);
    const theirs = run("theirs", "running", false);
    expect(planBatch("stop", [mine, theirs])).toEqual({ acting: [mine], skipped: [theirs], disabledReason: null });
  });

  it("is disabled, saying why, when none of the runs it applies to may be managed", () => {
    expect(planBatch("stop", [run("theirs", "running", false), run("done", "done", true)]).disabledReason)
      .toBe(notYoursReason("stop"));
    expect(planBatch("abort", [run("a", "running", false), run("b", "pending", false)]).disabledReason)
      .toBe("Only their owners or a project admin or manager may abort these runs.");
    expect(planBatch("delete", [run("theirs", "done", false)]).disabledReason)
      .toBe("Only its owner or a project admin or manager may delete this run.");
  });

  it("is disabled when the action applies to none of the runs, or none is selected", () => {
    expect(planBatch("stop", [run("a", "failed", true)]).disabledReason).toBe("The selected runs have finished.");
    expect(planBatch("delete", [run("a", "running", true), run("b", "done", true, true)]).disabledReason)
      .toBe("Only finished runs that are not deleted can be deleted.");
    expect(planBatch("stop", []).disabledReason).toBe("Select the runs to stop.");
  });
});

describe("applies", () => {
  it("stops active runs and deletes finished ones that are not deleted", () => {
    expect(applies("stop", run("a", "provisioning", true))).toBe(true);
    expect(applies("abort", run("a", "terminated", true))).toBe(false);
    expect(applies("delete", run("a", "failed", true))).toBe(true);
    expect(applies("delete", run("a", "failed", true, true))).toBe(false);
  });
});

describe("confirmation", () => {
  it("names the run and says what happens", () => {
    expect(confirmation("stop", [{ run_name: "train" }])).toEqual({
      header: "Stop run train?", action: "Stop", skippedNote: null,
      body: "Each replica is sent SIGTERM and given its stop_duration to exit before it is killed.",
    });
    expect(confirmation("abort", [{ run_name: "train" }]).body).toContain("killed at once, without a graceful stop");
  });

  it("names every run of a batch, and those it leaves alone", () => {
    const asked = confirmation("delete", [{ run_name: "a" }, { run_name: "b" }], [{ run_name: "c" }]);
    expect(asked.header).toBe("Delete 2 runs?");
    expect(asked.body.startsWith("Delete a and b. Deleted runs leave the list but stay in history")).toBe(true);
    expect(asked.skippedNote).toBe("c is left as it is: only its owner or a project admin or manager may delete "
      + "this run.");
    expect(confirmation("abort", [{ run_name: "a" }], [{ run_name: "b" }, { run_name: "c" }]).skippedNote)
      .toBe("b and c are left as they are: only their owners or a project admin or manager may abort these runs.");
  });
});
