// The CPU and memory samples of each replica of a run, read with `metrics/job` and followed every
// 2 s while the run is live. Each round asks only for samples after the last one read, and only
// for replicas that may still have new ones (running now, or not read since they finished).

import { useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/client";
import { jobMetrics } from "../api/endpoints";
import type { Run } from "../api/types";
import { appendSamples, type ReplicaSamples, type Sample, samplesOf } from "../metrics/series";
import { lastSubmission } from "../runs/format";
import { isFinished } from "../runs/status";

export const METRICS_POLL_MS = 2000;
const MAX_SAMPLES = 720; // an hour at the host's 5 s sampling; older samples fall off the chart
const PAGE = 1000;

export interface ReplicaMetrics {
  samples: ReplicaSamples;
  /** Whether every replica has been read once. */
  loaded: boolean;
  error: Error | undefined;
}

export function useReplicaMetrics(api: ApiClient, run: Run): ReplicaMetrics {
  const [state, setState] = useState<ReplicaMetrics & { runId: string }>(
    { runId: run.id, samples: new Map(), loaded: false, error: undefined });
  // The run changes every poll of the page; the reader follows it without starting over.
  const runRef = useRef(run);
  runRef.current = run;

  useEffect(() => {
    const controller = new AbortController();
    const samples = new Map<number, Sample[]>();
    const settled = new Set<number>(); // finished replicas read after they finished
    let timer: number | undefined;
    setState({ runId: run.id, samples, loaded: false, error: undefined });

    const read = async (replica: number): Promise<void> => {
      const known = samples.get(replica) ?? [];
      const answer = await jobMetrics(api, run.project_name, { run_name: run.run_name, run_id: run.id, replica_num: replica,
        after: known.at(-1)?.timestamp ?? null, limit: known.length ? PAGE : MAX_SAMPLES }, controller.signal);
      samples.set(replica, appendSamples(known, samplesOf(answer), MAX_SAMPLES));
    };

    const step = async (): Promise<void> => {
      const current = runRef.current;
      const runLive = !isFinished(current.status);
      const due = current.jobs.filter((job) => !settled.has(job.replica_num));
      const finishing = due.filter((job) => !runLive || isFinished(lastSubmission(job)?.status ?? "submitted"));
      try {
        await Promise.all(due.map((job) => read(job.replica_num)));
        for (const job of finishing) settled.add(job.replica_num);
        if (!controller.signal.aborted) setState({ runId: run.id, samples: new Map(samples), loaded: true, error: undefined });
      } catch (error) {
        if (controller.signal.aborted) return;
        setState((previous) => ({ ...previous, error: error instanceof Error ? error : new Error(String(error)) }));
      }
      if (controller.signal.aborted) return;
      // A finished run gets no new samples: once each replica is read, the reader stops.
      if (runLive || current.jobs.some((job) => !settled.has(job.replica_num))) {
        timer = window.setTimeout(() => void step(), METRICS_POLL_MS);
      }
    };
    void step();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
  }, [api, run.id, run.project_name, run.run_name]);

  return state.runId === run.id ? state : { samples: new Map(), loaded: false, error: undefined };
}
