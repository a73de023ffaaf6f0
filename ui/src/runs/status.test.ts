import { describe, expect, it } from "vitest";
import { breakPoints, isFinished, statusIndicatorType, statusLabel } from "./status";

describe("statusIndicatorType", () => {
  it.each([
    ["pending", "pending"],
    ["submitted", "pending"],
    ["provisioning", "loading"],
    ["pulling", "loading"],
    ["running", "success"],
    ["terminating", "in-progress"],
    ["terminated", "stopped"],
    ["aborted", "stopped"],
    ["failed", "error"],
    ["done", "success"],
  ])("%s shows as %s", (status, type) => {
    expect(statusIndicatorType(status)).toBe(type);
  });

  it("shows a status it does not know as information", () => {
    expect(statusIndicatorType("hibernating")).toBe("info");
  });
});

describe("statusLabel", () => {
  it("adds the termination reason when it says something", () => {
    expect(statusLabel("terminated", "scaled_down")).toBe("terminated (scaled_down)");
    expect(statusLabel("failed", "job_failed")).toBe("failed (job_failed)");
  });

  it("leaves out reasons that repeat the status, and missing ones", () => {
    expect(statusLabel("done", "all_jobs_done")).toBe("done");
    expect(statusLabel("done", "done_by_runner")).toBe("done");
    expect(statusLabel("running", null)).toBe("running");
    expect(statusLabel("running")).toBe("running");
  });
});

describe("isFinished", () => {
  it("knows the final statuses of runs and replicas", () => {
    expect(["terminated", "aborted", "failed", "done"].every(isFinished)).toBe(true);
    expect(["pending", "submitted", "provisioning", "pulling", "running", "terminating"].some(isFinished)).toBe(false);
  });
});

describe("breakPoints", () => {
  it("lets a long reason wrap after its underscores, keeping its text", () => {
    expect(breakPoints("failed (container_exited_with_error)"))
      .toEqual(["failed (container_", "exited_", "with_", "error)"]);
    expect(breakPoints("running")).toEqual(["running"]);
    expect(breakPoints("failed (container_exited_with_error)").join("")).toBe("failed (container_exited_with_error)");
  });
});
