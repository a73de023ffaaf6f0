import { describe, expect, it } from "vitest";
import type { Job } from "../api/types";
import { fixedReplicasHint, formatCost, hostDetails, replicaRange, replicasLabel, runHosts } from "./format";

const job = (replica_num: number, ...hosts: (string | null)[]): Job => ({
  replica_num,
  job_submissions: hosts.map((host, submission_num) => ({
    id: `${replica_num}-${submission_num}`, submission_num, status: "running", status_message: "",
    termination_reason: null, exit_code: null, host, submitted_at: "2025-01-01T00:00:00Z", started_at: null,
    finished_at: null, price_per_hour: 0, cost: 0,
  })),
});

describe("runHosts", () => {
  it("names the host of each replica's latest submission, once", () => {
    expect(runHosts({ jobs: [job(0, "old", "a"), job(1, "a"), job(2, "b")] })).toBe("a, b");
  });

  it("is a dash when no replica has a host yet", () => {
    expect(runHosts({ jobs: [job(0, null)] })).toBe("-");
    expect(runHosts({ jobs: [] })).toBe("-");
  });
});

describe("hostDetails", () => {
  it("adds the host's id and the GPUs held, when there are any", () => {
    expect(hostDetails({ host: "box", host_id: "box-1", gpus: [0, 1] })).toBe("box-1 · GPUs 0, 1");
    expect(hostDetails({ host: "box", host_id: "box-1", gpus: [2] })).toBe("box-1 · GPU 2");
    expect(hostDetails({ host: "box", host_id: "box-1", gpus: [] })).toBe("box-1");
    expect(hostDetails({ host: "box", host_id: "box" })).toBe("");
    expect(hostDetails({ host: "box", host_id: null, gpus: [3] })).toBe("GPU 3");
  });
});

describe("replicaRange", () => {
  it("reads every way a service gives its replicas", () => {
    expect(replicaRange({ type: "service", replicas: "1..3" })).toEqual({ min: 1, max: 3 });
    expect(replicaRange({ type: "service", replicas: 2 })).toEqual({ min: 2, max: 2 });
    expect(replicaRange({ type: "service", replicas: "2" })).toEqual({ min: 2, max: 2 });
    expect(replicaRange({ type: "service", replicas: { min: 0, max: 4 } })).toEqual({ min: 0, max: 4 });
    expect(replicaRange({ type: "service" })).toEqual({ min: 1, max: 1 });
  });

  it("has no range for tasks or unreadable values", () => {
    expect(replicaRange({ type: "task", replicas: 2 })).toBeNull();
    expect(replicaRange({ type: "service", replicas: "lots" })).toBeNull();
  });
});

describe("small formats", () => {
  it("shows replicas as running/desired and costs in dollars", () => {
    expect(replicasLabel({ running_replicas: 1, desired_replicas: 3 })).toBe("1/3");
    expect(formatCost(0)).toBe("$0.00");
    expect(formatCost(1.5)).toBe("$1.50");
    expect(formatCost(0.04)).toBe("$0.04");
    // Never "$0.0045" beside "$0.04", nor "$0.0000" for a run that has cost something.
    expect(formatCost(0.0045)).toBe("<$0.01");
    expect(formatCost(0.006)).toBe("$0.01");
    expect(formatCost(0.0012)).toBe("<$0.01");
    expect(formatCost(0.00001)).toBe("<$0.01");
  });

  it("explains a fixed replica count instead of offering a scale between 4 and 4", () => {
    expect(fixedReplicasHint({ min: 4, max: 4 })).toBe(
      "Fixed at 4 replicas. To scale it, apply it with a range (for example replicas: 4..6).");
    expect(fixedReplicasHint({ min: 1, max: 1 })).toMatch(/^Fixed at 1 replica\. /);
    expect(fixedReplicasHint({ min: 1, max: 4 })).toBeNull();
  });
});
