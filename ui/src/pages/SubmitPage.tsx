// Submit a run configuration, pasted or uploaded as YAML, as `durastack apply` does: the YAML is
// parsed here (a syntax error shows at its line), the plan is asked first, its question asked when
// there is one, and a field the server refuses shows at its line. A submitted run opens its page.

import Alert from "@cloudscape-design/components/alert";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Container from "@cloudscape-design/components/container";
import ContentLayout from "@cloudscape-design/components/content-layout";
import FileInput from "@cloudscape-design/components/file-input";
import Form from "@cloudscape-design/components/form";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import Link from "@cloudscape-design/components/link";
import Select from "@cloudscape-design/components/select";
import SpaceBetween from "@cloudscape-design/components/space-between";
import StatusIndicator from "@cloudscape-design/components/status-indicator";
import Textarea from "@cloudscape-design/components/textarea";
import { type ReactNode, useEffect, useMemo, useRef, useState } from "react";
import type { ApiClient } from "../api/client";
import { listProjects } from "../api/endpoints";
import type { ProjectInfo, RunPlan, RunSpec } from "../api/types";
import { useFollow, useNavigate } from "../routing/navigation";
import { runHref, submitHref } from "../routing/routes";
import { parseConfiguration } from "../submit/configurationYaml";
import { describeFieldError, type FieldError, fieldError } from "../submit/fieldError";
import { applyPlan, type PlanStep, planKeepingCode, planStep, runSpecOf } from "../submit/plan";
import { PlanChanges } from "../submit/PlanChanges";

const EXAMPLE = `type: task
name: hello
commands:
  - echo "hello from replica $DURASTACK_REPLICA_NUM"
resources: {cpu: 1, memory: 512MB}`;

interface Props {
  api: ApiClient;
  /** From the address; null: the first of the caller's projects. */
  project: string | null;
}

export function SubmitPage({ api, project }: Props) {
  const navigate = useNavigate();
  const follow = useFollow();
  const [projects, setProjects] = useState<ProjectInfo[] | null>(null);
  const [projectsError, setProjectsError] = useState<string | null>(null);
  const [text, setText] = useState("");
  const [fileName, setFileName] = useState<string | null>(null);
  const [runName, setRunName] = useState("");
  const [attempted, setAttempted] = useState(false);
  const [refusal, setRefusal] = useState<FieldError | null>(null);
  const [pending, setPending] = useState<{ step: Exclude<PlanStep, { kind: "submit" }>; spec: RunSpec } | null>(null);
  const [progress, setProgress] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    listProjects(api, controller.signal).then(setProjects, (error: unknown) => {
      if (!controller.signal.aborted) setProjectsError(error instanceof Error ? error.message : String(error));
    });
    return () => controller.abort();
  }, [api]);

  const chosen = project ?? projects?.[0]?.project_name ?? null;
  const parsed = useMemo(() => parseConfiguration(text), [text]);
  const yamlError = attempted && !parsed.ok ? describeFieldError({ field: null, ...parsed.problem }) : undefined;
  const configurationError = refusal?.target === "configuration" ? describeFieldError(refusal) : yamlError;

  // Whatever the server said was about the text as it was; an edit makes it stale.
  const edited = (): void => {
    setRefusal(null);
    setPending(null);
  };

  const upload = async (files: File[]): Promise<void> => {
    const [file] = files;
    if (!file) return;
    setFileName(file.name);
    setText(await file.text());
    setAttempted(true); // a file's syntax error shows at once
    edited();
  };

  const run = async (spec: RunSpec, plan: RunPlan): Promise<void> => {
    if (!chosen) return;
    try {
      const submitted = await applyPlan(api, chosen, spec, plan, setProgress);
      navigate(runHref(submitted.project_name, submitted.run_name, submitted.id));
    } catch (error) {
      setPending(null);
      setRefusal(fieldError(error, text));
    } finally {
      setProgress(null);
    }
  };

  const submit = async (): Promise<void> => {
    setAttempted(true);
    edited();
    if (!parsed.ok || !chosen) return;
    setProgress("Checking the configuration…");
    let plan: RunPlan;
    let spec: RunSpec;
    try {
      ({ plan, spec } = await planKeepingCode(api, chosen, runSpecOf(parsed.configuration, text, runName)));
    } catch (error) {
      setRefusal(fieldError(error, text));
      setProgress(null);
      return;
    }
    const step = planStep(plan);
    if (step.kind === "submit") {
      await run(spec, plan);
    } else {
      setProgress(null);
      setPending({ step, spec });
    }
  };

  const busy = progress !== null;
  const projectOptions = (projects ?? []).map((p) => ({ label: p.project_name, value: p.project_name }));

  return (
    <ContentLayout header={
      <Header variant="h1" description="Paste or upload a run configuration in YAML, as `durastack apply -f` reads it.">
        Submit a run
      </Header>
    }>
      <form onSubmit={(event) => { event.preventDefault(); void submit(); }}>
        <Form
          errorText={refusal?.target === "form" ? describeFieldError(refusal) : undefined}
          errorIconAriaLabel="Error"
          actions={
            <SpaceBetween direction="horizontal" size="xs">
              <Button formAction="none" variant="link" href="/runs" onFollow={follow}>Cancel</Button>
              <Button variant="primary" loading={busy} disabled={!chosen || pending !== null}>Submit</Button>
            </SpaceBetween>
          }
        >
          <SpaceBetween size="l">
            {projectsError && <Alert type="error" header="Could not load your projects">{projectsError}</Alert>}
            {projects?.length === 0 && <Alert type="warning">You are not a member of any project yet.</Alert>}
            <Container>
              <SpaceBetween size="l">
                <FormField label="Project">
                  <Select
                    ariaLabel="Project"
                    selectedOption={chosen ? { label: chosen, value: chosen } : null}
                    options={projectOptions}
                    statusType={projects === null && !projectsError ? "loading" : "finished"}
                    placeholder="Choose a project"
                    onChange={({ detail }) => navigate(submitHref(detail.selectedOption.value ?? null))}
                  />
                </FormField>
                <FormField label={<span>Run name <i>- optional</i></span>} controlId="run-name"
                  description="Instead of the configuration's `name`; without either, a name is generated."
                  errorText={refusal?.target === "run_name" ? refusal.message : undefined}>
                  <Input controlId="run-name" value={runName} placeholder="e.g. train"
                    onChange={({ detail }) => { setRunName(detail.value); edited(); }} />
                </FormField>
                <FormField label="Configuration (YAML)" controlId="configuration" stretch
                  description="A task or a service: type, commands, replicas, resources, env, … (see the README)."
                  errorText={configurationError}
                  secondaryControl={
                    <SpaceBetween direction="horizontal" size="xs" alignItems="center">
                      <FileInput value={[]} accept=".yml,.yaml,text/yaml,application/yaml,text/plain"
                        ariaLabel="Upload a configuration file"
                        onChange={({ detail }) => void upload(detail.value)}>Upload a file</FileInput>
                      {fileName && <Box variant="small">{fileName}</Box>}
                    </SpaceBetween>
                  }>
                  <div className="yaml-editor">
                    <Textarea controlId="configuration" value={text} rows={16} spellcheck={false}
                      placeholder={EXAMPLE} invalid={!!configurationError}
                      onChange={({ detail }) => { setText(detail.value); edited(); }} />
                  </div>
                </FormField>
              </SpaceBetween>
            </Container>
            {progress && <StatusIndicator type="loading">{progress}</StatusIndicator>}
            {pending && (
              <InView key={pending.step.plan.message}>
                {pending.step.kind === "nothing_to_do" ? (
                  <Alert type="info" header="Nothing to do"
                    action={<Button formAction="none" onClick={() => setPending(null)}>Close</Button>}>
                    <SpaceBetween size="xs">
                      <span data-testid="plan-message">
                        {pending.step.plan.message}.{" "}
                        {pending.step.plan.current_run && (
                          <Link href={runHref(pending.step.plan.current_run.project_name,
                            pending.step.plan.current_run.run_name, pending.step.plan.current_run.id)}
                          onFollow={follow}>Open the run</Link>
                        )}
                      </span>
                      <KeptCode spec={pending.spec} />
                    </SpaceBetween>
                  </Alert>
                ) : (
                  <ConfirmPlan step={pending.step} spec={pending.spec} busy={busy} onCancel={() => setPending(null)}
                    onConfirm={() => void run(pending.spec, pending.step.plan)} />
                )}
              </InView>
            )}
          </SpaceBetween>
        </Form>
      </form>
    </ContentLayout>
  );
}

/** Brought into view when it appears: the plan's question shows where the Submit button was, which
 * may be at the bottom of the window, with its answers below the fold. */
function InView({ children }: { children: ReactNode }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    box.current?.scrollIntoView({ block: "nearest" });
  }, []);
  // The margins keep it clear of the sticky top navigation and the window's bottom edge.
  return <div ref={box} style={{ scrollMarginTop: 80, scrollMarginBottom: 20 }}>{children}</div>;
}

/** Says that the active run's code stays: the page uploads none (planKeepingCode). */
function KeptCode({ spec }: { spec: RunSpec }) {
  if (!spec.repo_code_hash) return null;
  return (
    <Box variant="small" color="text-body-secondary">
      The run keeps the code it was submitted with (sha256 {spec.repo_code_hash.slice(0, 8)}): this page uploads
      none; apply with the CLI to change it.
    </Box>
  );
}

interface ConfirmProps {
  step: PlanStep & { kind: "confirm" };
  spec: RunSpec;
  busy: boolean;
  onCancel: () => void;
  onConfirm: () => void;
}

/** The plan's question, with what changed from the active run. */
function ConfirmPlan({ step, spec, busy, onCancel, onConfirm }: ConfirmProps) {
  const { plan } = step;
  return (
    <Alert type={plan.action === "create" ? "info" : "warning"} header="Confirm the submission">
      <SpaceBetween size="s">
        <span data-testid="plan-message">{plan.message}</span>
        {plan.changes.length > 0 && <PlanChanges changes={plan.changes} />}
        <KeptCode spec={spec} />
        <SpaceBetween direction="horizontal" size="xs">
          <Button formAction="none" disabled={busy} onClick={onCancel}>Cancel</Button>
          <Button formAction="none" variant="primary" loading={busy} onClick={onConfirm}>{step.confirmLabel}</Button>
        </SpaceBetween>
      </SpaceBetween>
    </Alert>
  );
}
