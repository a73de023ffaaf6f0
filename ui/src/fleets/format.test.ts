import { describe, expect, it } from "vitest";
import type { Instance, InstanceResources } from "../api/types";
import {
  formatMemory,
  formatResources,
  groupByFleet,
  instanceIndicatorType,
  isBeingRemoved,
  isSshFleet,
  jobLabel,
  mayManage,
  statusSummary,
} from "./format";

const a100 = (index: number) => ({ index, name: "A100", memory_mb: 81_920 });
const resources = (cpus: number, memory_mb: number, gpus: InstanceResources["gpus"] = []): InstanceResources =>
  ({ cpus, memory_mb, gpus });

const instance = (id: string, change: Partial<Instance> = {}): Instance => ({
  id, name: id, fleet_id: "f-local", fleet_name: "local", project_name: null, instance_num: null, backend: "local",
  status: "idle", resources: resources(2, 4096), free: resources(2, 4096), price: 0, created: "2025-01-01T00:00:00Z",
  last_seen_at: "2025-01-01T00:00:00Z", jobs: [], ...change,
});

describe("instanceIndicatorType", () => {
  it("maps each instance status, and reads an unknown one as information", () => {
    expect(instanceIndicatorType("idle")).toBe("success");
    expect(instanceIndicatorType("busy")).toBe("in-progress");
    expect(instanceIndicatorType("unreachable")).toBe("error");
    for (const status of ["pending", "provisioning", "terminating"]) expect(instanceIndicatorType(status)).toBe("pending");
    expect(instanceIndicatorType("terminated")).toBe("stopped");
    expect(instanceIndicatorType("sleeping")).toBe("info");
  });
});

describe("formatResources", () => {
  it("says CPUs, memory and GPUs counted by model", () => {
    expect(formatResources(resources(2, 4096, [a100(0)]))).toBe("2 CPU, 4GB, 1×A100");
    expect(formatResources(resources(16, 512))).toBe("16 CPU, 512MB");
    expect(formatResources(resources(8, 1536, [a100(0), { index: 1, name: "H100", memory_mb: 1 }, a100(2)])))
      .toBe("8 CPU, 1.5GB, 2×A100, 1×H100");
  });

  it("keeps what is free short, and counts a model none of whose GPUs is free", () => {
    const total = resources(16, 16_384, [a100(0), a100(1)]);
    expect(formatResources(resources(15.9, 16_368, [a100(1)]), total)).toBe("15.9 CPU, 16GB, 1×A100");
    expect(formatResources(resources(0.25, 0), total)).toBe("0.25 CPU, 0MB, 0×A100");
    expect(formatMemory(1023)).toBe("1023MB");
    expect(formatMemory(15_974)).toBe("15.6GB");
  });
});

describe("jobLabel and mayManage", () => {
  it("names the run and its replica once known", () => {
    const job = { project_name: "main", run_name: "train", run_id: "r", replica_num: 1, submission_num: 0,
      submission_id: "s" };
    expect(jobLabel(job)).toBe("train (replica 1)");
    expect(jobLabel({ ...job, replica_num: null })).toBe("train");
  });

  it("lets project admins and managers and global admins delete fleets", () => {
    expect(mayManage("admin", null)).toBe(true);
    expect(mayManage("user", "admin")).toBe(true);
    expect(mayManage("user", "manager")).toBe(true);
    expect(mayManage("user", "user")).toBe(false);
    expect(mayManage("user", undefined)).toBe(false);
  });
});

describe("groupByFleet", () => {
  it("groups by fleet, fleets by name, an SSH fleet's hosts in their order", () => {
    const ssh = { fleet_id: "f-gpu", fleet_name: "gpu", project_name: "research", backend: "ssh" };
    const groups = groupByFleet([
      instance("local-b"), instance("gpu-1", { ...ssh, instance_num: 1, name: "a" }),
      instance("gpu-0", { ...ssh, instance_num: 0, name: "z", status: "busy" }), instance("local-a"),
    ]);
    expect(groups.map((group) => [group.name, group.project, group.instances.map((i) => i.id)])).toEqual([
      ["gpu", "research", ["gpu-0", "gpu-1"]],
      ["local", null, ["local-a", "local-b"]],
    ]);
    const [gpu, local] = groups;
    expect(gpu && isSshFleet(gpu)).toBe(true);
    expect(local && isSshFleet(local)).toBe(false);
    expect(gpu && statusSummary(gpu.instances)).toBe("1 busy, 1 idle");
  });

  it("knows a fleet on its way out", () => {
    const [group] = groupByFleet([instance("a", { status: "terminating" }), instance("b", { status: "terminated" })]);
    expect(group && isBeingRemoved(group)).toBe(true);
    const [live] = groupByFleet([instance("a", { status: "terminating" }), instance("b")]);
    expect(live && isBeingRemoved(live)).toBe(false);
  });
});
