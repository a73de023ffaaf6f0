"""Runs: submit, read (live from the workflow, finished from the projection), stop, delete."""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.auth import ProjectAccess
from api.errors import ApiError, Conflict
from api.schemas import (
    JobInfo,
    JobSubmissionInfo,
    ListRunsRequest,
    Run,
    RunEventInfo,
    RunSpec,
)
from api.services.lookup import find_run
from api.services.run_messages import ScaleRefused, scale_run
from core import search_attributes
from core.configuration import (
    RUN_NAME_PATTERN,
    RunConfiguration,
    ServiceConfiguration,
    changed_fields,
    configuration_to_yaml_dict,
    initial_replicas,
    parse_configuration,
)
from core.names import generate_run_name
from core.run_state import RunState
from store.accounts import Accounts
from store.models import RunModel
from store.runs import ActiveRunExists, NewRun, RunCursor, RunStore
from workflows.messages import RUN_WORKFLOW, STATE_QUERY, RunWorkflowInput, ScaleCommand

log = structlog.get_logger(__name__)

QUERY_TIMEOUT = timedelta(seconds=5)
SIGNAL_TIMEOUT = timedelta(seconds=10)
# How many signals one batch request has in flight at once.
FAN_OUT = 64


@dataclass(frozen=True)
class TemporalSettings:
    task_queue: str
    namespace: str
    ui_url: str | None


class RunService:
    def __init__(self, runs: RunStore, accounts: Accounts, client: Client, temporal: TemporalSettings) -> None:
        self._runs = runs
        self._accounts = accounts
        self._client = client
        self._temporal = temporal

    # -- submit ---------------------------------------------------------------------------------

    async def apply(self, access: ProjectAccess, spec: RunSpec) -> Run:
        configuration = parse_configuration(spec.configuration)
        run_name = spec.run_name or configuration.name
        if run_name is not None and not _valid_name(run_name):
            raise ApiError(400, f"run_spec.run_name: {run_name!r} must match {RUN_NAME_PATTERN}",
                           "run_spec.run_name")
        now = datetime.now(UTC)
        run_id = str(uuid.uuid4())
        for _ in range(20 if run_name is None else 1):
            name = run_name or generate_run_name(random.Random())
            workflow_id = f"run-{access.project.name}-{name}-{run_id[:8]}"
            try:
                await self._runs.create(NewRun(
                    id=run_id, project_id=access.project.id, user_id=access.user.id, run_name=name,
                    workflow_id=workflow_id, desired_replicas=initial_replicas(configuration),
                    configuration=configuration.model_dump(mode="json", by_alias=True), submitted_at=now))
                break
            except ActiveRunExists:
                if run_name is not None:
                    return await self._apply_in_place(access, name, configuration)
        else:
            raise Conflict("could not generate a free run name; give the run a name")

        state = RunState(run_id=run_id, run_name=name, project=access.project.name, user=access.user.name,
                         workflow_id=workflow_id, configuration=configuration,
                         desired_replicas=initial_replicas(configuration), submitted_at=now)
        try:
            await self._client.start_workflow(
                RUN_WORKFLOW, RunWorkflowInput(state=state), id=workflow_id, task_queue=self._temporal.task_queue,
                search_attributes=TypedSearchAttributes([
                    SearchAttributePair(search_attributes.PROJECT, access.project.name),
                    SearchAttributePair(search_attributes.RUN_NAME, name),
                    SearchAttributePair(search_attributes.RUN_STATUS, state.status.value),
                ]),
                static_summary=f"{configuration.type} {name} in project {access.project.name}",
                # When a worker shares this client (the embedded server), its first workflow task
                # comes back with the start response instead of through a poll.
                request_eager_start=True, rpc_timeout=SIGNAL_TIMEOUT)
        except Exception as error:
            await self._runs.mark_failed_to_start(run_id, f"could not start the workflow: {error}")
            log.exception("workflow start failed", run_id=run_id, run_name=name)
            raise ApiError(503, f"could not start run {name}: the Temporal server did not accept it") from None
        log.info("run submitted", run_id=run_id, run_name=name, project=access.project.name)
        return self._from_state(state, source="workflow", deleted=False)

    async def _apply_in_place(self, access: ProjectAccess, name: str, configuration: RunConfiguration) -> Run:
        """A service re-applied with only its replicas changed is scaled, not restarted."""
        row = await self._runs.latest_by_name(access.project.id, name)
        if row is None or not row.active:  # it finished in the meantime: the caller may retry
            raise Conflict(f"run {name} was active a moment ago; apply again")
        current = parse_configuration(row.configuration)
        changed = changed_fields(current, configuration)
        if changed != ["replicas"] or not isinstance(configuration, ServiceConfiguration):
            what = f"its configuration changed in: {', '.join(changed)}" if changed else "nothing changed"
            raise Conflict(f"run {name} is already active in project {access.project.name} and {what}; "
                           "stop it first or choose another name")
        state = await self.query_state(row.workflow_id)
        current_replicas = state.desired_replicas if state else row.desired_replicas
        allowed = configuration.replicas
        replicas = min(max(current_replicas, allowed.min), allowed.max)
        try:
            await scale_run(self._client, row.workflow_id, ScaleCommand(replicas=replicas, replica_range=allowed))
        except ScaleRefused as refusal:
            raise Conflict(f"run {name} can't be updated in place: {refusal}") from None
        log.info("run updated in place", run_id=row.id, run_name=name, replicas=replicas)
        return await self.view(row, access.project.name)

    # -- read -----------------------------------------------------------------------------------

    async def get(self, access: ProjectAccess, *, run_name: str | None = None, run_id: str | None = None) -> Run:
        row = await find_run(self._runs, access, run_name=run_name, run_id=run_id)
        return await self.view(row, access.project.name)

    async def view(self, row: RunModel, project_name: str) -> Run:
        """Live runs answer from the workflow; finished ones from their final projection."""
        if row.active:
            state = await self.query_state(row.workflow_id)
            if state is not None:
                return self._from_state(state, source="workflow", deleted=row.deleted)
        users = await self._accounts.user_names({row.user_id})
        return self._from_row(row, project_name, users.get(row.user_id, ""), with_events=True)

    async def query_state(self, workflow_id: str) -> RunState | None:
        try:
            handle: WorkflowHandle[Any, Any] = self._client.get_workflow_handle(workflow_id)
            return await handle.query(STATE_QUERY, result_type=RunState, rpc_timeout=QUERY_TIMEOUT)
        except Exception as error:  # the workflow may be unreachable; the projection still answers
            log.warning("run query failed; answering from the projection", workflow_id=workflow_id,
                        error=str(error))
            return None

    async def list_runs(self, access: ProjectAccess, request: ListRunsRequest) -> list[Run]:
        after = None
        if request.prev_submitted_at is not None and request.prev_run_id is not None:
            after = RunCursor(request.prev_submitted_at, request.prev_run_id)
        rows = await self._runs.list_runs(access.project.id, only_active=request.only_active,
                                     include_deleted=request.include_deleted, limit=request.limit, after=after)
        users = await self._accounts.user_names({row.user_id for row in rows})
        return [self._from_row(row, access.project.name, users.get(row.user_id, "")) for row in rows]

    # -- shaping --------------------------------------------------------------------------------

    def _ui_url(self, workflow_id: str) -> str | None:
        if self._temporal.ui_url is None:
            return None
        return f"{self._temporal.ui_url}/namespaces/{self._temporal.namespace}/workflows/{workflow_id}"

    def _from_state(self, state: RunState, *, source: str, deleted: bool) -> Run:
        now = state.finished_at or datetime.now(UTC)
        return Run(
            id=state.run_id, project_name=state.project, user=state.user, run_name=state.run_name,
            status=state.status, status_message=state.status_message,
            termination_reason=state.termination_reason, submitted_at=state.submitted_at,
            finished_at=state.finished_at, desired_replicas=state.desired_replicas,
            running_replicas=state.running_replicas(), cost=state.cost(now),
            cost_per_hour=0.0 if state.status.is_finished else state.cost_per_hour(), deleted=deleted,
            configuration=configuration_to_yaml_dict(state.configuration),
            jobs=[JobInfo(replica_num=replica.replica_num, job_submissions=[
                JobSubmissionInfo(
                    id=s.id, submission_num=s.submission_num, status=s.status, status_message=s.status_message,
                    termination_reason=s.termination_reason, exit_code=s.exit_code, host=s.host_name,
                    submitted_at=s.submitted_at, started_at=s.started_at, finished_at=s.finished_at,
                    price_per_hour=s.price_per_hour, cost=s.cost(now))
                for s in replica.submissions]) for replica in state.replicas],
            events=[RunEventInfo.model_validate(event, from_attributes=True) for event in state.events],
            workflow_id=state.workflow_id, temporal_ui_url=self._ui_url(state.workflow_id),
            version=state.version, source=source,
        )

    def _from_row(self, row: RunModel, project_name: str, user_name: str, with_events: bool = False) -> Run:
        if row.state is not None:
            state = RunState.model_validate(row.state)
            run = self._from_state(state, source="projection", deleted=row.deleted)
            if not with_events:
                run.events = []
            return run
        configuration = parse_configuration(row.configuration)
        return Run(
            id=row.id, project_name=project_name, user=user_name, run_name=row.run_name, status=row.status,
            status_message=row.status_message, termination_reason=row.termination_reason,
            submitted_at=row.submitted_at, finished_at=row.finished_at, desired_replicas=row.desired_replicas,
            running_replicas=row.running_replicas, cost=row.cost, cost_per_hour=0.0, deleted=row.deleted,
            configuration=configuration_to_yaml_dict(configuration), jobs=[], events=[],
            workflow_id=row.workflow_id, temporal_ui_url=self._ui_url(row.workflow_id), version=row.version,
            source="projection")


def _valid_name(name: str) -> bool:
    return re.match(RUN_NAME_PATTERN, name) is not None
