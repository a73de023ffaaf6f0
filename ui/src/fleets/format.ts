// How fleets and their instances (hosts) read on the Fleets page.

import type { StatusIndicatorProps } from "@cloudscape-design/components/status-indicator";
import type { GlobalRole, Instance, InstanceJob, InstanceResources, InstanceStatus, ProjectRole } from "../api/types";

const INDICATOR: Record<InstanceStatus, StatusIndicatorProps.Type> = {
  pending: "pending",
  provisioning: "pending",
  idle: "success",
  busy: "in-progress",
  terminating: "pending",
  terminated: "stopped",
  unreachable: "error",
};

/** The indicator type of an instance's status; an unknown status (a newer server) reads as information. */
export function instanceIndicatorType(status: string): StatusIndicatorProps.Type {
  return INDICATOR[status as InstanceStatus] ?? "info";
}

const decimals = (value: number, digits: number): string => String(Number(value.toFixed(digits)));

/** 512MB, 4GB, 15.5GB. */
export function formatMemory(mb: number): string {
  return mb >= 1024 ? `${decimals(mb / 1024, 1)}GB` : `${mb}MB`;
}

/** "2 CPU, 4GB, 1×A100": GPUs counted by model. `like` (the host's total) names the models to count,
 * so that what is free says "0×A100" rather than leaving a busy GPU out. */
export function formatResources(resources: InstanceResources, like: InstanceResources = resources): string {
  const counts = new Map<string, number>(like.gpus.map((gpu) => [gpu.name, 0]));
  for (const gpu of resources.gpus) counts.set(gpu.name, (counts.get(gpu.name) ?? 0) + 1);
  const gpus = [...counts].map(([name, count]) => `${count}×${name}`);
  return [`${decimals(resources.cpus, 2)} CPU`, formatMemory(resources.memory_mb), ...gpus].join(", ");
}

/** "train (replica 1)"; the run's name alone until the submission's replica is known. */
export const jobLabel = (job: InstanceJob): string =>
  job.replica_num === null ? job.run_name : `${job.run_name} (replica ${job.replica_num})`;

/** Whether the user may delete a project's fleets: its admins and managers, and global admins. */
export const mayManage = (globalRole: GlobalRole, projectRole: ProjectRole | null | undefined): boolean =>
  globalRole === "admin" || projectRole === "admin" || projectRole === "manager";

export interface FleetGroup {
  key: string;
  name: string;
  /** The project of an SSH fleet; null for a fleet of workers that every project shares. */
  project: string | null;
  instances: Instance[];
}

/** Instances by fleet, fleets by name, each fleet's hosts in their order (SSH) or by name. */
export function groupByFleet(instances: Instance[]): FleetGroup[] {
  const groups = new Map<string, FleetGroup>();
  for (const instance of instances) {
    const key = instance.fleet_id ?? "";
    const group = groups.get(key) ?? { key, name: instance.fleet_name ?? "(no fleet)", project: instance.project_name,
      instances: [] };
    group.instances.push(instance);
    groups.set(key, group);
  }
  const order = (a: Instance, b: Instance): number =>
    (a.instance_num ?? Infinity) - (b.instance_num ?? Infinity) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
  return [...groups.values()]
    .map((group) => ({ ...group, instances: group.instances.sort(order) }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.key.localeCompare(b.key));
}

/** "2 idle, 1 busy": how many of a fleet's hosts are in each status, in the order they are first met. */
export function statusSummary(instances: Instance[]): string {
  const counts = new Map<string, number>();
  for (const instance of instances) counts.set(instance.status, (counts.get(instance.status) ?? 0) + 1);
  return [...counts].map(([status, count]) => `${count} ${status}`).join(", ");
}

/** An SSH fleet is one a project owns (a fleet of workers is shared by every project), and it can be
 * deleted until it is on its way out. */
export const isSshFleet = (group: FleetGroup): boolean => group.project !== null;

export const isBeingRemoved = (group: FleetGroup): boolean =>
  group.instances.every((instance) => instance.status === "terminating" || instance.status === "terminated");
