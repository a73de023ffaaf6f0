// One run: its header and actions, its replicas, and tabs for logs, metrics, events and configuration.
// By name it is the latest run of that name that is not deleted, and the address is then pinned to
// that run's id; by id, any run (run/runLookup.ts).

import Alert from "@cloudscape-design/components/alert";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Container from "@cloudscape-design/components/container";
import ContentLayout from "@cloudscape-design/components/content-layout";
import CopyToClipboard from "@cloudscape-design/components/copy-to-clipboard";
import Flashbar from "@cloudscape-design/components/flashbar";
import Header from "@cloudscape-design/components/header";
import KeyValuePairs from "@cloudscape-design/components/key-value-pairs";
import Link from "@cloudscape-design/components/link";
import Popover from "@cloudscape-design/components/popover";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Spinner from "@cloudscape-design/components/spinner";
import Tabs from "@cloudscape-design/components/tabs";
import { useEffect, useRef, useState } from "react";
import { RelativeTime } from "../components/RelativeTime";
import type { ApiClient } from "../api/client";
import { scaleRuns } from "../api/endpoints";
import type { Run } from "../api/types";
import { ConfirmAction } from "../components/ConfirmAction";
import { Status } from "../components/Status";
import { useFlash } from "../hooks/useFlash";
import { usePolling } from "../hooks/usePolling";
import { ConfigurationTab } from "../run/ConfigurationTab";
import { EventsTab } from "../run/EventsTab";
import { LogsTab } from "../run/LogsTab";
import { MetricsTab } from "../run/MetricsTab";
import { ReplicasTable } from "../run/ReplicasTable";
import { historyOfName, isNotFound, loadShown } from "../run/runLookup";
import { ScaleControl } from "../run/ScaleControl";
import { ServicePanel } from "../run/ServicePanel";
import { replaceAddress, useFollow } from "../routing/navigation";
import { pinnedRunHref, runHref } from "../routing/routes";
import { runBatch } from "../runs/batch";
import { historyHref } from "../runs/listQuery";
import { formatCost, formatTime, replicaRange, replicasLabel } from "../runs/format";
import { confirmation, notYoursReason, type RunAction } from "../runs/manage";
import { outcomeMessage } from "../runs/outcomes";
import { isFinished } from "../runs/status";
import { reachableTemporalUiUrl } from "../runs/temporalUi";
import { serving } from "../service/serving";

const POLL_MS = 2000;

interface Props {
  api: ApiClient;
  project: string;
  name: string;
  id: string | null;
}

export function RunDetailsPage({ api, project, name, id }: Props) {
  const follow = useFollow();
  const flash = useFlash();
  const [busy, setBusy] = useState<RunAction | null>(null);
  const [confirming, setConfirming] = useState<RunAction | null>(null);
  // Opened by name, the page follows the run it found first, even once that run is deleted or a
  // newer run takes the name.
  const shownId = useRef(id);
  const [notFound, setNotFound] = useState(false);
  const polled = usePolling(async (signal) => {
    try {
      const shown = await loadShown(api, project, name, shownId.current, signal);
      shownId.current = shown.run.id;
      return shown;
    } catch (error) {
      if (isNotFound(error)) setNotFound(true); // stops the polling
      throw error;
    }
  }, POLL_MS, `${project}/${name}/${id}`, !notFound);
  const run = polled.data?.run;
  const latest = polled.data?.latest ?? null;

  // A reload (or a copied address) shows this run, not whichever run has the name by then.
  const runId = run?.id;
  useEffect(() => {
    const pinned = runId && pinnedRunHref(window.location.pathname, window.location.search, runId);
    if (pinned) replaceAddress(pinned);
  }, [runId]);

  if (notFound) return <RunNotFound api={api} project={project} name={name} id={id} />;
  if (!run) {
    return polled.error
      ? <Alert type="error" header={`Could not load run ${name}`}>{polled.error.message}</Alert>
      : <Spinner size="large" />;
  }

  const finished = isFinished(run.status);
  const act = async (action: RunAction): Promise<void> => {
    setBusy(action);
    try {
      flash.show(outcomeMessage(action, await runBatch(api, action, [run])));
    } catch (error) {
      flash.showError(`Could not ${action} ${run.run_name}`, error);
    } finally {
      setBusy(null);
      setConfirming(null);
      polled.refresh();
    }
  };
  // Disabled, saying why, for whoever may not manage the run (the server would refuse anyway).
  const notYours = (action: RunAction | "scale"): string | undefined =>
    run.can_manage ? undefined : notYoursReason(action);
  const temporalUiUrl = reachableTemporalUiUrl(run.temporal_ui_url, window.location.hostname);
  const scale = async (replicas: number): Promise<void> => {
    try {
      const { results } = await scaleRuns(api, run.project_name, [run.id], replicas);
      flash.show(outcomeMessage("scale", results.map((result) => ({ ...result, run_name: run.run_name })), replicas));
    } catch (error) {
      flash.showError(`Could not scale ${run.run_name}`, error);
    } finally {
      polled.refresh();
    }
  };
  const range = replicaRange(run.configuration);
  const service = serving(run);

  return (
    <ContentLayout
      header={
        <Header
          variant="h1"
          description={<Status status={run.status} terminationReason={run.termination_reason} deleted={run.deleted} />}
          actions={
            <SpaceBetween direction="horizontal" size="xs">
              {temporalUiUrl && (
                <Button href={temporalUiUrl} target="_blank" iconName="external" iconAlign="right">
                  Open in Temporal UI
                </Button>
              )}
              <Button disabled={finished || !!busy || !run.can_manage} disabledReason={finished ? undefined : notYours("stop")}
                loading={busy === "stop"} onClick={() => setConfirming("stop")}>Stop</Button>
              <Button disabled={finished || !!busy || !run.can_manage} disabledReason={finished ? undefined : notYours("abort")}
                loading={busy === "abort"} onClick={() => setConfirming("abort")}>Abort</Button>
              {finished && !run.deleted && (
                <Button disabled={!!busy || !run.can_manage} disabledReason={notYours("delete")}
                  loading={busy === "delete"} onClick={() => setConfirming("delete")}>Delete</Button>
              )}
            </SpaceBetween>
          }
        >
          {run.run_name}
        </Header>
      }
    >
      <SpaceBetween size="l">
        <Flashbar items={flash.items} />
        {polled.error && <Alert type="warning" header="Showing the last state read">{polled.error.message}</Alert>}
        {run.deleted && <Alert type="info">This run was deleted. It stays in history and opens by its id.</Alert>}
        {latest && latest.id !== run.id && (
          <Alert type="info" header={latest.submitted_at > run.submitted_at
            ? "A newer run of this name has replaced this one" : "This is not the latest run of this name"}>
            The latest run of this name that is not deleted is{" "}
            <Link href={runHref(latest.project_name, latest.run_name, latest.id)} onFollow={follow}>
              {latest.run_name} ({latest.status})
            </Link>
            . This page shows run {run.id}.
          </Alert>
        )}
        <Container header={<Header variant="h2">Details</Header>}>
          <KeyValuePairs
            columns={4}
            items={[
              { label: "Project", value: run.project_name },
              { label: "User", value: run.user },
              { label: "Type", value: String(run.configuration.type ?? "-") },
              { label: "Replicas (running/desired)", value: replicasLabel(run) },
              { label: "Submitted", value: <RelativeTime iso={run.submitted_at} /> },
              { label: "Finished", value: <RelativeTime iso={run.finished_at} /> },
              { label: "Cost", value: formatCost(run.cost) },
              { label: "Cost rate", value: <span data-testid="cost-rate">{`${formatCost(run.cost_per_hour)}/h`}</span> },
              { label: "Status message", value: <span data-testid="status-message">{run.status_message || "-"}</span> },
              { label: "Run id", value: run.id },
              { label: "Workflow", value: run.workflow_id },
              { label: "State shown", value: <Freshness run={run} /> },
              { label: "Link by name", value: <NameLink project={run.project_name} name={run.run_name} /> },
              {
                label: "History",
                value: <Link href={historyHref(run)} onFollow={follow}>Every run named {run.run_name}</Link>,
              },
            ]}
          />
        </Container>
        {service && !finished && <ServicePanel service={service} />}
        {range && !finished && !service?.autoscaling && (
          <Container header={<Header variant="h2">Scale</Header>}>
            <ScaleControl key={run.desired_replicas} range={range} desired={run.desired_replicas} onScale={scale}
              disabledReason={notYours("scale")} />
          </Container>
        )}
        <ReplicasTable jobs={run.jobs} />
        <Container>
          <Tabs
            tabs={[
              { id: "logs", label: "Logs", content: <LogsTab api={api} run={run} /> },
              { id: "metrics", label: "Metrics", content: <MetricsTab api={api} run={run} /> },
              { id: "events", label: "Events", content: <EventsTab events={run.events} /> },
              { id: "configuration", label: "Configuration", content: <ConfigurationTab run={run} /> },
            ]}
          />
        </Container>
      </SpaceBetween>
      <ConfirmAction confirmation={confirming && confirmation(confirming, [run])} busy={busy !== null}
        onCancel={() => setConfirming(null)} onConfirm={() => { if (confirming) void act(confirming); }} />
    </ContentLayout>
  );
}

/** Whether the page shows the run as its workflow has it now, or as it was last saved. */
function Freshness({ run }: { run: Pick<Run, "source" | "status"> }) {
  const [label, explanation] = run.source === "workflow"
    ? ["Live", "Read from the run's workflow as it runs, every 2 s."]
    : isFinished(run.status)
      ? ["Final", "The run has finished: this is the state it saved when it ended."]
      : ["Last saved", "The run's workflow did not answer in time, so this is the state it saved last, which may "
        + "be a moment behind. The page keeps asking."];
  return (
    <Popover header={label} content={explanation} dismissButton={false} triggerType="text" size="medium">
      <span data-testid="freshness">{label}</span>
    </Popover>
  );
}

/** The run's address by name, to share: it opens whichever run has the name then (this page's
 * address names this run). */
function NameLink({ project, name }: { project: string; name: string }) {
  const path = runHref(project, name);
  return (
    <SpaceBetween direction="horizontal" size="xxs" alignItems="center">
      <CopyToClipboard variant="icon" textToCopy={`${window.location.origin}${path}`}
        copyButtonAriaLabel="Copy the link by name" copySuccessText="Link copied: it opens the latest run of this name"
        copyErrorText="Could not copy the link" />
      <Box variant="small" color="text-body-secondary">{path}</Box>
    </SpaceBetween>
  );
}

/** What a page whose run is not there says, once: no polling, and where to look instead. */
function RunNotFound({ api, project, name, id }: { api: ApiClient; project: string; name: string; id: string | null }) {
  const follow = useFollow();
  const [history, setHistory] = useState<Run[] | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    void historyOfName(api, project, name, 10, controller.signal).then((runs) => {
      if (!controller.signal.aborted) setHistory(runs);
    });
    return () => controller.abort();
  }, [api, project, name]);
  return (
    <SpaceBetween size="l">
      <Header variant="h1">{name}</Header>
      <Alert type="error" header="Run not found">
        <span data-testid="run-not-found">
          {id ? `Project ${project} has no run with id ${id} that you can see.`
            : `Project ${project} has no run named ${name} that is not deleted (or you can't see the project).`}
        </span>
      </Alert>
      <Container header={<Header variant="h2" description="Every run that used this name, deleted ones too">
        Runs named {name}</Header>}>
        {history === null ? <Spinner /> : history.length === 0 ? <Box>None that you can see.</Box> : (
          <ul data-testid="name-history" style={{ margin: 0 }}>
            {history.map((past) => (
              <li key={past.id}>
                <Link href={runHref(past.project_name, past.run_name, past.id)} onFollow={follow}>
                  {formatTime(past.submitted_at)}
                </Link>{" "}
                <Status status={past.status} terminationReason={past.termination_reason} deleted={past.deleted} />
              </li>
            ))}
          </ul>
        )}
      </Container>
      <Link href="/runs" onFollow={follow}>Go to runs</Link>
    </SpaceBetween>
  );
}
