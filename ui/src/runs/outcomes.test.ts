import { describe, expect, it } from "vitest";
import { describeOutcome, outcomeMessage } from "./outcomes";

const result = (run_name: string, outcome: string) => ({ run_name, id: `${run_name}-id`, outcome });

describe("outcomeMessage", () => {
  it("is a success when every run took the action", () => {
    expect(outcomeMessage("stop", [result("a", "stopping"), result("b", "stopping")])).toEqual(
      { type: "success", header: "Stopping 2 runs", problems: [] });
    expect(outcomeMessage("delete", [result("a", "deleted")])).toEqual(
      { type: "success", header: "Deleted 1 run", problems: [] });
    expect(outcomeMessage("abort", [result("a", "stopping")]).header).toBe("Aborting 1 run");
    expect(outcomeMessage("scale", [result("web", "scaled")]).type).toBe("success");
  });

  it("lists each run that could not, and why", () => {
    const message = outcomeMessage("stop", [
      result("a", "stopping"),
      result("b", "already_finished"),
      result("ghost", "not_found"),
      result("c", "error: forbidden: only the run's owner or a project admin/manager may stop it"),
    ]);
    expect(message).toEqual({
      type: "warning",
      header: "Stopping 1 run; 3 runs could not be stopped",
      problems: [
        "b: already finished",
        "ghost: not found",
        "c: forbidden: only the run's owner or a project admin/manager may stop it",
      ],
    });
  });

  it("is an error when no run took the action", () => {
    expect(outcomeMessage("delete", [result("a", "error: run a is active; stop it first")])).toEqual(
      { type: "error", header: "The run could not be deleted", problems: ["a: run a is active; stop it first"] });
    expect(outcomeMessage("scale", [result("a", "error: x"), result("b", "error: y")]).header).toBe(
      "None of the 2 runs could be scaled");
  });

  it("does not take another action's success for its own", () => {
    expect(outcomeMessage("delete", [result("a", "stopping")]).problems).toEqual(["a: stopping"]);
  });
});

describe("describeOutcome", () => {
  it("reads the server's outcome words", () => {
    expect(describeOutcome("not_found")).toBe("not found");
    expect(describeOutcome("already_finished")).toBe("already finished");
    expect(describeOutcome("error: replicas must be within 1..3")).toBe("replicas must be within 1..3");
  });
});
