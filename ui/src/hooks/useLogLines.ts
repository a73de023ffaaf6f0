// One replica's log lines, read page by page with `logs/poll` and followed while the run is live.

import { useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/client";
import { pollLogs } from "../api/endpoints";
import type { LogEvent } from "../api/types";

const PAGE = 1000;
const IDLE_MS = 1000;
const MAX_LINES = 20_000; // older lines fall off the page; the CLI reads all of them

export interface LogLines {
  lines: LogEvent[];
  error: Error | undefined;
  following: boolean;
}

export function useLogLines(api: ApiClient, project: string, runId: string, replicaNum: number,
  live: boolean): LogLines {
  const [state, setState] = useState<LogLines & { key: string }>({ key: "", lines: [], error: undefined, following: true });
  const key = `${runId}/${replicaNum}`;
  // Whether the run is live changes without restarting the reader: when it ends, the reader
  // reads what is left and stops.
  const liveRef = useRef(live);
  liveRef.current = live;

  useEffect(() => {
    const controller = new AbortController();
    let timer: number | undefined;
    let token: string | null = null;
    let lines: LogEvent[] = [];
    let drained = false;
    setState({ key, lines, error: undefined, following: true });
    const step = async (): Promise<void> => {
      try {
        const page = await pollLogs(api, project, { run_id: runId, replica_num: replicaNum, next_token: token, limit: PAGE },
          controller.signal);
        token = page.next_token;
        if (page.logs.length) {
          lines = [...lines, ...page.logs].slice(-MAX_LINES);
          setState({ key, lines, error: undefined, following: true });
        }
        drained = page.logs.length < PAGE;
      } catch (error) {
        if (controller.signal.aborted) return;
        setState({ key, lines, error: error instanceof Error ? error : new Error(String(error)), following: true });
      }
      if (controller.signal.aborted) return;
      if (drained && !liveRef.current) {
        setState({ key, lines, error: undefined, following: false });
        return;
      }
      timer = window.setTimeout(() => void step(), drained ? IDLE_MS : 0);
    };
    void step();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
  }, [api, project, runId, replicaNum, key]);

  return state.key === key ? state : { lines: [], error: undefined, following: true };
}
