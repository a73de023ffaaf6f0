import { describe, expect, it } from "vitest";
import { attemptLabel, exitCodeLabel } from "./replicaCells";

describe("replica cells", () => {
  it("names the attempt and deployment only when there is more than the first", () => {
    expect(attemptLabel({ submission_num: 0, deployment_num: 0 })).toBe("");
    expect(attemptLabel({ submission_num: 3, deployment_num: 0 })).toBe("submission 3");
    expect(attemptLabel({ submission_num: 0, deployment_num: 2 })).toBe("deployment 2");
    expect(attemptLabel({ submission_num: 1, deployment_num: 2 })).toBe("submission 1 · deployment 2");
  });

  it("shows exit codes, zero included", () => {
    expect(exitCodeLabel({ exit_code: 3 })).toBe("3");
    expect(exitCodeLabel({ exit_code: 0 })).toBe("0");
    expect(exitCodeLabel({ exit_code: null })).toBe("-");
    expect(exitCodeLabel(undefined)).toBe("-");
  });
});
