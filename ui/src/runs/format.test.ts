import { describe, expect, it } from "vitest";
import type { Job } from "../api/types";
import {
  fixedReplicasHint, formatCost, formatPrice, formatRelativeTime, formatRunResources, hostDetails, replicaRange,
  replicasLabel, runHosts, shortId,
} from "./format";

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

describe("formatRelativeTime", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");
  const ago = (seconds: number): string => new Date(now - seconds * 1000).toISOString();

  it("says how long ago, in the largest whole unit", () => {
    expect(formatRelativeTime(ago(2), now)).toBe("just now");
    expect(formatRelativeTime(ago(42), now)).toBe("42 s ago");
    expect(formatRelativeTime(ago(3 * 60 + 59), now)).toBe("3 min ago");
    expect(formatRelativeTime(ago(5 * 3600 + 10), now)).toBe("5 h ago");
    expect(formatRelativeTime(ago(2 * 86_400 + 7200), now)).toBe("2 d ago");
  });

  it("says the date for what is more than a month old, and 'in' for a time ahead of the clock", () => {
    expect(formatRelativeTime(ago(45 * 86_400), now)).toBe(new Date(now - 45 * 86_400_000).toLocaleDateString());
    expect(formatRelativeTime(ago(-120), now)).toBe("in 2 min");
  });

  it("is a dash for no time and the text itself for one it can't read", () => {
    expect(formatRelativeTime(null, now)).toBe("-");
    expect(formatRelativeTime("soon", now)).toBe("soon");
  });
});

describe("shortId", () => {
  it("is the first 8 characters", () => {
    expect(shortId("1b4e28ba-2fa1-11d2-883f-0016d3cca427")).toBe("1b4e28ba");
  });
});

describe("formatRunResources", () => {
  it("reads cpu, memory and GPUs as the API writes them", () => {
    expect(formatRunResources({ resources: { cpu: 0.1, memory: "16MB" } })).toBe("0.1 CPU, 16MB");
    expect(formatRunResources({ resources: { cpu: 8, memory: "64GB", gpu: { name: ["A100", "H100"], count: 2,
      memory: "40960MB" } } })).toBe("8 CPU, 64GB, 2×A100/H100 (≥40GB)");
    expect(formatRunResources({ resources: { cpu: 1, memory: "1536MB", gpu: { count: 1 } } }))
      .toBe("1 CPU, 1536MB, 1×GPU");
  });

  it("is a dash without resources", () => {
    expect(formatRunResources({})).toBe("-");
    expect(formatRunResources({ resources: null })).toBe("-");
  });
});

describe("formatPrice", () => {
  const priced = (replica_num: number, ...prices: [number, boolean][]): Job => ({
    replica_num,
    job_submissions: prices.map(([price_per_hour, started], submission_num) => ({
      ...job(replica_num, "h").job_submissions[0]!, submission_num, price_per_hour,
      started_at: started ? "2025-01-01T00:00:01Z" : null,
    })),
  });

  it("is the price of the replicas' latest submissions that got an instance", () => {
    expect(formatPrice({ jobs: [priced(0, [1, true], [3.6, true]), priced(1, [3.6, true])] })).toBe("$3.60/h");
    expect(formatPrice({ jobs: [priced(0, [1, true]), priced(1, [3.6, true])] })).toBe("$1.00–$3.60/h");
    expect(formatPrice({ jobs: [priced(0, [3.6, true]), priced(1, [0, false])] })).toBe("$3.60/h");
  });

  it("is a dash before any replica started", () => {
    expect(formatPrice({ jobs: [priced(0, [0, false])] })).toBe("-");
    expect(formatPrice({ jobs: [] })).toBe("-");
  });
});
