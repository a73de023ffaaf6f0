// A window onto one replica's log, or every replica's: it opens at the log's end, follows new
// lines while the run is live, and reads earlier (or, after reading back, later) pages on demand.
// Requests go one at a time, so that each starts from the window as the last one left it.

import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/client";
import { pollAllReplicasLogs, pollLogs } from "../api/endpoints";
import type { JobLogs } from "../api/types";
import { appendLater, emptyWindow, prependEarlier, windowAtEnd, type LogSource, type LogWindow } from "../run/logWindow";

const PAGE = 1000;
const IDLE_MS = 1000;

export interface LogLines extends LogWindow {
  error: Error | undefined;
  /** Still reading the run's new lines (it is live, or lines are left to read). */
  following: boolean;
  /** The first page has arrived. */
  loaded: boolean;
  loading: boolean;
  loadEarlier: () => void;
  loadLater: () => void;
  /** Back to the log's end, following it. */
  jumpToEnd: () => void;
}

interface State {
  key: string;
  window: LogWindow;
  error: Error | undefined;
  following: boolean;
  loaded: boolean;
  loading: boolean;
}

const sourceKey = (source: LogSource): string => (source === "all" ? "all" : String(source.replica));

export function useLogLines(api: ApiClient, project: string, runId: string, source: LogSource, live: boolean): LogLines {
  const key = `${runId}/${sourceKey(source)}`;
  const fresh = (): State => ({ key, window: emptyWindow, error: undefined, following: true, loaded: false, loading: true });
  const [state, setState] = useState<State>(fresh);
  // Whether the run is live changes without restarting the reader: when it ends, the reader
  // reads what is left and stops.
  const liveRef = useRef(live);
  liveRef.current = live;
  const actions = useRef({ loadEarlier: () => {}, loadLater: () => {}, jumpToEnd: () => {} });

  useEffect(() => {
    const controller = new AbortController();
    let timer: number | undefined;
    let current: State = fresh();
    let queue: Promise<void> = Promise.resolve();
    const set = (next: Partial<State>): void => {
      current = { ...current, ...next };
      setState(current);
    };
    const poll = (token: string | null, descending: boolean): Promise<JobLogs> => source === "all"
      ? pollAllReplicasLogs(api, project, { run_id: runId, next_token: token, descending, limit: PAGE }, controller.signal)
      : pollLogs(api, project, { run_id: runId, replica_num: source.replica, next_token: token, descending, limit: PAGE },
        controller.signal);
    // One request at a time: each reads the window the one before left.
    const enqueue = (step: () => Promise<void>): void => {
      queue = queue.then(async () => {
        if (controller.signal.aborted) return;
        try {
          await step();
        } catch (error) {
          if (!controller.signal.aborted) set({ error: error instanceof Error ? error : new Error(String(error)), loading: false });
        }
      });
    };
    const schedule = (delay: number): void => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => enqueue(follow), delay);
    };
    const follow = async (): Promise<void> => {
      if (!current.window.atEnd) return; // read back from the end: the reader asks for later pages
      const page = await poll(current.window.later, false);
      set({ window: appendLater(current.window, page, PAGE, source), error: undefined });
      const drained = page.logs.length < PAGE;
      if (drained && !liveRef.current) {
        set({ following: false });
        return;
      }
      set({ following: true });
      schedule(drained ? IDLE_MS : 0);
    };
    const openAtEnd = async (): Promise<void> => {
      set({ loading: true });
      const page = await poll(null, true);
      set({ window: windowAtEnd(page), loaded: true, loading: false, error: undefined, following: true });
      schedule(0);
    };
    actions.current = {
      loadEarlier: () => {
        if (current.loading || current.window.earlier === null) return;
        set({ loading: true });
        enqueue(async () => {
          if (current.window.earlier === null) return set({ loading: false });
          const page = await poll(current.window.earlier, true);
          set({ window: prependEarlier(current.window, page, source), loading: false });
        });
      },
      loadLater: () => {
        if (current.loading || current.window.atEnd) return;
        set({ loading: true });
        enqueue(async () => {
          const page = await poll(current.window.later, false);
          set({ window: appendLater(current.window, page, PAGE, source), loading: false });
          if (current.window.atEnd) schedule(0);
        });
      },
      jumpToEnd: () => {
        if (current.window.atEnd) return;
        enqueue(openAtEnd);
      },
    };
    setState(current);
    enqueue(openAtEnd);
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
    // `source` is a new object on each render; its key says when it changed.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, project, runId, key]);

  const loadEarlier = useCallback(() => actions.current.loadEarlier(), []);
  const loadLater = useCallback(() => actions.current.loadLater(), []);
  const jumpToEnd = useCallback(() => actions.current.jumpToEnd(), []);
  const shown = state.key === key ? state : fresh();
  return { ...shown.window, error: shown.error, following: shown.following, loaded: shown.loaded,
    loading: shown.loading, loadEarlier, loadLater, jumpToEnd };
}
