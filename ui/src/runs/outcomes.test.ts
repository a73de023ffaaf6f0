import { describe, expect, it } from "vitest";
import { describeOutcome, nameList, outcomeMessage } from "./outcomes";

const result = (run_name: string, outcome: string) => ({ run_name, id: `${run_name}-id`, outcome });

describe("outcomeMessage", () => {
  it("names the runs that took the action", () => {
    expect(outcomeMessage("stop", [result("a", "stopping"), result("b", "stopping")])).toEqual(
      { type: "success", header: "Stopping a and b", problems: [] });
    expect(outcomeMessage("delete", [result("a", "deleted")])).toEqual(
      { type: "success", header: "Deleted a", problems: [] });
    expect(outcomeMessage("abort", [result("a", "stopping")]).header).toBe("Aborting a");
  });

  it("says where a scale went", () => {
    expect(outcomeMessage("scale", [result("web", "scaled")], 3)).toEqual(
      { type: "success", header: "Scaled web to 3 replicas", problems: [] });
    expect(outcomeMessage("scale", [result("web", "scaled")], 1).header).toBe("Scaled web to 1 replica");
  });

  it("names the runs that took it and each run that could not, and why", () => {
    const message = outcomeMessage("stop", [
      result("a", "stopping"),
      result("b", "already_finished"),
      result("ghost", "not_found"),
      result("c", "error: forbidden: only the run's owner or a project admin/manager may stop it"),
    ]);
    expect(message).toEqual({
      type: "warning",
      header: "Stopping a; 3 runs could not be stopped",
      problems: [
        "b: already finished",
        "ghost: not found",
        "c: forbidden: only the run's owner or a project admin/manager may stop it",
      ],
    });
  });

  it("is an error when no run took the action", () => {
    expect(outcomeMessage("delete", [result("a", "error: run a is active; stop it first")])).toEqual(
      { type: "error", header: "a could not be deleted", problems: ["a: run a is active; stop it first"] });
    expect(outcomeMessage("scale", [result("a", "error: x"), result("b", "error: y")], 2).header).toBe(
      "None of the 2 runs could be scaled");
  });

  it("does not take another action's success for its own", () => {
    expect(outcomeMessage("delete", [result("a", "stopping")]).problems).toEqual(["a: stopping"]);
  });
});

describe("nameList", () => {
  it("reads as a sentence, and counts what is past five names", () => {
    expect(nameList(["a"])).toBe("a");
    expect(nameList(["a", "b", "c"])).toBe("a, b and c");
    expect(nameList(["a", "b", "c", "d", "e", "f"])).toBe("a, b, c, d, e and 1 more");
    expect(nameList(["a", "b", "c", "d", "e", "f", "g"])).toBe("a, b, c, d, e and 2 more");
  });
});

describe("describeOutcome", () => {
  it("reads the server's outcome words", () => {
    expect(describeOutcome("not_found")).toBe("not found");
    expect(describeOutcome("already_finished")).toBe("already finished");
    expect(describeOutcome("error: replicas must be within 1..3")).toBe("replicas must be within 1..3");
  });
});
