// The full log as a file. The server streams it; the page fetches it with the token in the
// Authorization header (a token in a URL would land in the server's access log and the browser's
// history), then saves it as a Blob: Chromium keeps large blobs on disk, not in memory.

import { useCallback, useState } from "react";
import type { ApiClient } from "../api/client";
import { downloadLogs } from "../api/endpoints";
import type { Run } from "../api/types";
import type { LogSource } from "./logWindow";

export const downloadName = (run: Pick<Run, "run_name">, source: LogSource): string =>
  `${run.run_name}-${source === "all" ? "all-replicas" : `replica-${source.replica}`}.log`;

export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has taken the blob once the click's task is over.
  window.setTimeout(() => URL.revokeObjectURL(url), 0);
}

export function useLogDownload(api: ApiClient, run: Run, source: LogSource, timestamps: boolean) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>();
  const replica = source === "all" ? null : source.replica;
  const start = useCallback(() => {
    setBusy(true);
    setError(undefined);
    downloadLogs(api, run.project_name, { run_id: run.id, replica_num: replica, timestamps })
      .then((blob) => saveBlob(blob, downloadName(run, replica === null ? "all" : { replica })))
      .catch((caught: unknown) => setError(caught instanceof Error ? caught : new Error(String(caught))))
      .finally(() => setBusy(false));
  }, [api, run, replica, timestamps]);
  return { busy, error, start };
}
