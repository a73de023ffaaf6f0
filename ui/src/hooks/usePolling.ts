// Calls `load` now and every `intervalMs` while the page shows it, keeping the latest answer.
// A new `key` (filters, page) starts over; `refresh` asks again at once (after an action).

import { useCallback, useEffect, useRef, useState } from "react";

export interface Polled<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  refresh: () => void;
}

export function usePolling<T>(load: (signal: AbortSignal) => Promise<T>, intervalMs: number, key: string,
  enabled = true): Polled<T> {
  const [state, setState] = useState<{ key: string; data?: T; error?: Error }>({ key });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    let timer: number | undefined;
    const poll = async (): Promise<void> => {
      try {
        const data = await loadRef.current(controller.signal);
        if (!controller.signal.aborted) setState({ key, data });
      } catch (error) {
        if (controller.signal.aborted) return;
        setState((previous) => ({ ...previous, key, error: error instanceof Error ? error : new Error(String(error)) }));
      }
      if (!controller.signal.aborted) timer = window.setTimeout(() => void poll(), intervalMs);
    };
    void poll();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
  }, [key, intervalMs, enabled, tick]);

  const refresh = useCallback(() => setTick((value) => value + 1), []);
  const current = state.key === key;
  return { data: current ? state.data : undefined, error: current ? state.error : undefined,
    loading: !current || (state.data === undefined && state.error === undefined), refresh };
}
