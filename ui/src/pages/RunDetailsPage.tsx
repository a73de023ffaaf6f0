// One run: its header and actions, its replicas, and tabs for logs, metrics, events and configuration.
// By name it is the latest run of that name that is not deleted; by id, any run.

import Alert from "@cloudscape-design/components/alert";
import Button from "@cloudscape-design/components/button";
import Container from "@cloudscape-design/components/container";
import ContentLayout from "@cloudscape-design/components/content-layout";
import Flashbar from "@cloudscape-design/components/flashbar";
import Header from "@cloudscape-design/components/header";
import KeyValuePairs from "@cloudscape-design/components/key-value-pairs";
import Link from "@cloudscape-design/components/link";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Spinner from "@cloudscape-design/components/spinner";
import Tabs from "@cloudscape-design/components/tabs";
import { useRef, useState } from "react";
import type { ApiClient } from "../api/client";
import { getRun, listRuns, scaleRuns } from "../api/endpoints";
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
import { ScaleControl } from "../run/ScaleControl";
import { ServicePanel } from "../run/ServicePanel";
import { useFollow } from "../routing/navigation";
import { runHref } from "../routing/routes";
import { runBatch } from "../runs/batch";
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
  // newer run takes the name; each poll also reads the latest run of the name, to say so.
  const shownId = useRef(id);
  const polled = usePolling(async (signal): Promise<Shown> => {
    if (!shownId.current) {
      const found = await getRun(api, project, { run_name: name }, signal);
      shownId.current = found.id;
      return { run: found, latest: found };
    }
    const [found, latest] = await Promise.all([getRun(api, project, { id: shownId.current }, signal),
      latestOfName(api, project, name, signal)]);
    return { run: found, latest };
  }, POLL_MS, `${project}/${name}/${id}`);
  const run = polled.data?.run;
  const latest = polled.data?.latest ?? null;

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
              { label: "Submitted", value: formatTime(run.submitted_at) },
              { label: "Finished", value: formatTime(run.finished_at) },
              { label: "Cost", value: formatCost(run.cost) },
              { label: "Cost rate", value: <span data-testid="cost-rate">{`${formatCost(run.cost_per_hour)}/h`}</span> },
              { label: "Status message", value: run.status_message || "-" },
              { label: "Run id", value: run.id },
              { label: "Workflow", value: run.workflow_id },
              { label: "Read from", value: run.source === "workflow" ? "the live workflow" : "the database" },
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
              { id: "configuration", label: "Configuration", content: <ConfigurationTab configuration={run.configuration} /> },
            ]}
          />
        </Container>
      </SpaceBetween>
      <ConfirmAction confirmation={confirming && confirmation(confirming, [run])} busy={busy !== null}
        onCancel={() => setConfirming(null)} onConfirm={() => { if (confirming) void act(confirming); }} />
    </ContentLayout>
  );
}

interface Shown {
  run: Run;
  /** The latest run of the name that is not deleted; null when there is none (all deleted). */
  latest: Run | null;
}

/** The newest run of the name that is not deleted: what `get` by name answers (an active run is
 * always its name's newest), read from the list, which costs no query of a workflow. */
async function latestOfName(api: ApiClient, project: string, name: string, signal: AbortSignal): Promise<Run | null> {
  const [latest] = await listRuns(api, { project_name: project, run_name: name, include_deleted: false, limit: 1 }, signal);
  return latest ?? null;
}
