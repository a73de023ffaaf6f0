import Alert from "@cloudscape-design/components/alert";
import Box from "@cloudscape-design/components/box";
import CopyToClipboard from "@cloudscape-design/components/copy-to-clipboard";
import Select from "@cloudscape-design/components/select";
import SpaceBetween from "@cloudscape-design/components/space-between";
import StatusIndicator from "@cloudscape-design/components/status-indicator";
import { useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/client";
import type { Run } from "../api/types";
import { useLogLines } from "../hooks/useLogLines";
import { isFinished } from "../runs/status";

export function LogsTab({ api, run }: { api: ApiClient; run: Run }) {
  const replicas = run.jobs.map((job) => job.replica_num);
  const [replica, setReplica] = useState<number>(replicas[0] ?? 0);
  const { lines, error, following } = useLogLines(api, run.project_name, run.id, replica, !isFinished(run.status));
  const bottom = useRef<HTMLDivElement>(null);
  useEffect(() => {
    bottom.current?.scrollIntoView({ block: "nearest" });
  }, [lines.length]);
  const text = lines.map((line) => line.message).join("\n");
  const option = (num: number) => ({ label: `Replica ${num}`, value: String(num) });

  return (
    <SpaceBetween size="s">
      <SpaceBetween direction="horizontal" size="s" alignItems="center">
        <Select ariaLabel="Replica" selectedOption={option(replica)} options={replicas.map(option)}
          onChange={({ detail }) => setReplica(Number(detail.selectedOption.value))} />
        <CopyToClipboard variant="button" textToCopy={text} copyButtonText="Copy"
          copySuccessText="Logs copied" copyErrorText="Could not copy the logs" />
        {following ? <StatusIndicator type="loading">following</StatusIndicator>
          : <StatusIndicator type="stopped">{`${lines.length} line${lines.length === 1 ? "" : "s"}, run finished`}</StatusIndicator>}
      </SpaceBetween>
      {error && <Alert type="error" header="Could not read the logs">{error.message}</Alert>}
      <div data-testid="log-lines" style={{ maxHeight: "60vh", overflow: "auto", background: "#0f1b2a", color: "#e9ebed",
        padding: 12, borderRadius: 8, fontFamily: "monospace", fontSize: 13, whiteSpace: "pre-wrap" }}>
        {lines.length === 0 ? <Box color="inherit">No log lines yet</Box>
          : lines.map((line) => (
            <div key={`${line.submission_num}:${line.offset}`} style={line.log_source === "stderr" ? { color: "#ffb4a9" } : undefined}>
              {line.message}
            </div>
          ))}
        <div ref={bottom} />
      </div>
    </SpaceBetween>
  );
}
