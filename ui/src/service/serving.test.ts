import { describe, expect, it } from "vitest";
import type { Run } from "../api/types";
import { readiness, serving } from "./serving";

type Shape = Pick<Run, "service" | "configuration" | "events" | "jobs">;

const submission = (deployment: number, status = "running") => ({
  id: `s${deployment}`, submission_num: 0, status, status_message: "", termination_reason: null, exit_code: null,
  host: "h", submitted_at: "", started_at: null, finished_at: null, price_per_hour: 0, cost: 0,
  deployment_num: deployment, port: 8000, ready: true,
}) as unknown as Run["jobs"][number]["job_submissions"][number];

const event = (message: string, timestamp = "2026-12-06T08:00:00Z") =>
  ({ message, timestamp, replica_num: null, submission_num: null });

const run = (overrides: Partial<Shape>): Shape => ({
  service: { url: "http://api/proxy/services/main/web/", ready_replicas: 2 },
  configuration: { type: "service", scaling: { metric: "rps", target: 3, window: "1m" } },
  events: [],
  jobs: [{ replica_num: 0, job_submissions: [submission(0)] }],
  ...overrides,
});

describe("serving", () => {
  it("is null for a task", () => {
    expect(serving(run({ service: null }))).toBeNull();
  });

  it("says where the service is, its autoscaling and the autoscaler's last decision", () => {
    const shown = serving(run({ events: [event("autoscaler: 1 → 2 (6.2 rps, target 3)"), event("replica 1 ready"),
      event("autoscaler: 2 → 3 (8.0 rps, target 3)", "2026-12-06T08:05:00Z")] }));
    expect(shown).toMatchObject({
      url: "http://api/proxy/services/main/web/", readyReplicas: 2,
      autoscaling: "rps, target 3 per replica, window 1m",
      lastDecision: { message: "autoscaler: 2 → 3 (8.0 rps, target 3)", timestamp: "2026-12-06T08:05:00Z" },
    });
    expect(serving(run({ configuration: { type: "service" } }))?.autoscaling).toBeNull();
  });

  it("tells a rolling update under way from one that ended", () => {
    const jobs = [{ replica_num: 0, job_submissions: [submission(1)] },
      { replica_num: 1, job_submissions: [submission(0), submission(2, "failed")] }];
    const rolling = serving(run({ jobs, events: [event("rolling update to deployment 1 (commands)")] }));
    expect(rolling).toMatchObject({ deployment: 1, rollingOut: true });
    const done = serving(run({ jobs, events: [event("rolling update to deployment 1 (commands)"),
      event("rolling update to deployment 1 done")] }));
    expect(done?.rollingOut).toBe(false);
  });
});

describe("readiness", () => {
  it("speaks of running service replicas only", () => {
    expect(readiness({ status: "running", port: 8001, ready: true })).toBe("ready on port 8001");
    expect(readiness({ status: "running", port: 8001, ready: false })).toBe("not ready (port 8001)");
    expect(readiness({ status: "running", port: null, ready: false })).toBe("");
    expect(readiness({ status: "provisioning", port: null, ready: false })).toBe("");
  });
});
