import Alert from "@cloudscape-design/components/alert";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import CopyToClipboard from "@cloudscape-design/components/copy-to-clipboard";
import Select from "@cloudscape-design/components/select";
import SpaceBetween from "@cloudscape-design/components/space-between";
import StatusIndicator from "@cloudscape-design/components/status-indicator";
import Toggle from "@cloudscape-design/components/toggle";
import { memo, useRef, useState } from "react";
import type { ApiClient } from "../api/client";
import type { LogEvent, Run } from "../api/types";
import { useLogLines } from "../hooks/useLogLines";
import { isFinished } from "../runs/status";
import { useFollowScroll } from "./followScroll";
import { lineText, linePrefix, type LineLabels } from "./logFormat";
import { useLogDownload } from "./logDownload";
import type { LogSource } from "./logWindow";

const ALL = "all";
// Replicas' labels take turns through these, so that neighbouring replicas' lines tell apart.
const REPLICA_COLOURS = ["#7dc3ff", "#b4e08a", "#f5c26b", "#d7a8ff", "#7fe0d6", "#ff9ec4"];

const lineKey = (line: LogEvent): string => `${line.replica_num}:${line.submission_num}:${line.offset}`;

export function LogsTab({ api, run }: { api: ApiClient; run: Run }) {
  const replicas = run.jobs.map((job) => job.replica_num);
  const [choice, setChoice] = useState<string>(String(replicas[0] ?? 0));
  const [timestamps, setTimestamps] = useState(false);
  const source: LogSource = choice === ALL ? "all" : { replica: Number(choice) };
  const log = useLogLines(api, run.project_name, run.id, source, !isFinished(run.status));
  const labels: LineLabels = { timestamps, replicas: source === "all" };
  const pane = useRef<HTMLDivElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const first = log.lines[0];
  const last = log.lines.at(-1);
  const scroll = useFollowScroll(pane, list, first && lineKey(first), last && lineKey(last),
    { nearTop: log.loadEarlier, atBottom: log.loadLater });
  const download = useLogDownload(api, run, source, timestamps);

  const options = [
    ...(replicas.length > 1 ? [{ label: "All replicas", value: ALL }] : []),
    ...replicas.map((num) => ({ label: `Replica ${num}`, value: String(num) })),
  ];
  const selected = options.find((option) => option.value === choice) ?? { label: `Replica ${choice}`, value: choice };
  const count = `${log.lines.length.toLocaleString()} line${log.lines.length === 1 ? "" : "s"}`;
  const partial = log.earlier !== null || !log.atEnd;

  return (
    <SpaceBetween size="s">
      <SpaceBetween direction="horizontal" size="s" alignItems="center">
        <Select ariaLabel="Replica" selectedOption={selected} options={options}
          onChange={({ detail }) => setChoice(detail.selectedOption.value ?? "0")} />
        <Toggle checked={timestamps} onChange={({ detail }) => setTimestamps(detail.checked)}>Timestamps</Toggle>
        <Button iconName="download" loading={download.busy} onClick={download.start}>Download full log</Button>
        <CopyToClipboard variant="button" textToCopy={log.lines.map((line) => lineText(line, labels)).join("\n")}
          copyButtonText="Copy shown lines" copySuccessText={`Copied the ${count} shown`}
          copyErrorText="Could not copy the lines" />
        {log.following ? <StatusIndicator type="loading">following</StatusIndicator>
          : <StatusIndicator type="stopped">run finished</StatusIndicator>}
      </SpaceBetween>
      {log.error && <Alert type="error" header="Could not read the logs">{log.error.message}</Alert>}
      {download.error && <Alert type="error" header="Could not download the log">{download.error.message}</Alert>}
      {partial && (
        <Box data-testid="log-window-notice" variant="small">
          {`Showing ${count} of a longer log: ${log.earlier !== null ? "earlier lines load as you scroll up" : ""}`}
          {log.earlier !== null && !log.atEnd ? ", " : ""}
          {!log.atEnd ? "later lines load as you scroll down" : ""}
          {". Download the full log to have all of it."}
        </Box>
      )}
      <div style={{ position: "relative" }}>
        <div ref={pane} data-testid="log-lines" onScroll={scroll.onScroll}
          style={{ height: "60vh", overflow: "auto", overflowAnchor: "none", position: "relative",
            background: "#0f1b2a", color: "#e9ebed", padding: 12, borderRadius: 8, fontFamily: "monospace",
            fontSize: 13, whiteSpace: "pre-wrap", wordBreak: "break-all" }}>
          {log.earlier !== null && (
            <Box color="inherit" fontSize="body-s">
              <button type="button" onClick={log.loadEarlier} disabled={log.loading} style={linkStyle}>
                {log.loading ? "Loading earlier lines…" : "Load earlier lines"}
              </button>
            </Box>
          )}
          {log.lines.length === 0 ? <Box color="inherit">{log.loaded ? "No log lines yet" : "Loading…"}</Box> : null}
          <div ref={list}>
            {log.lines.map((line) => <Line key={lineKey(line)} line={line} labels={labels} />)}
          </div>
          {!log.atEnd && (
            <button type="button" onClick={log.loadLater} disabled={log.loading} style={linkStyle}>Load later lines</button>
          )}
        </div>
        {!scroll.following && (log.lines.length > 0) && (
          <div style={{ position: "absolute", bottom: 16, right: 28 }}>
            <Button variant="primary" iconName="angle-down" onClick={() => {
              log.jumpToEnd();
              scroll.toBottom();
            }}>{scroll.unseen && log.atEnd ? "New lines below" : "Jump to the end"}</Button>
          </div>
        )}
      </div>
    </SpaceBetween>
  );
}

const linkStyle = { background: "none", border: "none", color: "#7dc3ff", cursor: "pointer", padding: 0,
  font: "inherit", textDecoration: "underline" } as const;

const Line = memo(function Line({ line, labels }: { line: LogEvent; labels: LineLabels }) {
  const prefix = linePrefix(line, { timestamps: labels.timestamps, replicas: false });
  return (
    <div data-key={lineKey(line)} className="log-line" style={line.log_source === "stderr" ? { color: "#ffb4a9" } : undefined}>
      {prefix && <span style={{ color: "#8d99a8" }}>{prefix}</span>}
      {labels.replicas && (
        <span style={{ color: REPLICA_COLOURS[line.replica_num % REPLICA_COLOURS.length] }}>{`[replica ${line.replica_num}] `}</span>
      )}
      {line.message}
    </div>
  );
}, (before, after) => before.line === after.line && before.labels.timestamps === after.labels.timestamps
  && before.labels.replicas === after.labels.replicas);
