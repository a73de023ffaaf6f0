"""Runs: submit, read (live from the workflow, finished from the projection), stop, delete."""

from __future__ import annotations

import functools
import random
import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pydantic import TypeAdapter
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.auth import ProjectAccess
from api.errors import ApiError, Conflict, Forbidden, NotFound
from api.proxy import service_url
from api.proxy.routes import serving_upstreams
from api.schemas import (
    FieldChange,
    JobInfo,
    JobSubmissionInfo,
    ListAllRunsRequest,
    ListRunsRequest,
    Run,
    RunEventInfo,
    RunPlan,
    RunPlanAction,
    RunSpec,
    ServiceInfo,
)
from api.services.lookup import find_run
from api.services.orphans import OrphanedRuns
from api.services.run_messages import DeployRefused, deploy_run, query_run_state
from core import search_attributes
from core.configuration import (
    RUN_NAME_PATTERN,
    ConfigurationError,
    RunConfiguration,
    ServiceConfiguration,
    changed_fields,
    configuration_to_yaml_dict,
    initial_replicas,
    parse_configuration,
    parse_configuration_yaml,
)
from core.names import generate_run_name
from core.run_state import JobSubmission, Replica, RunState, shown_status_message
from core.statuses import RunStatus, RunTerminationReason
from store.accounts import Accounts, User
from store.code import CodeStore
from store.models import RunModel
from store.runs import ActiveRunExists, NewRun, RunCursor, RunFilters, RunStore
from workflows.messages import CURRENT_WORKFLOW_VERSION, RUN_WORKFLOW, DeployCommand, RunWorkflowInput

log = structlog.get_logger(__name__)

SIGNAL_TIMEOUT = timedelta(seconds=10)
# How many signals one batch request has in flight at once.
FAN_OUT = 64


@dataclass(frozen=True)
class TemporalSettings:
    task_queue: str
    namespace: str
    ui_url: str | None


class RunService:
    def __init__(self, runs: RunStore, accounts: Accounts, client: Client, temporal: TemporalSettings,
                 code: CodeStore, public_url: str = "http://127.0.0.1:3000") -> None:
        self._runs = runs
        self._public_url = public_url  # where clients reach the API, and services through its proxy
        self._accounts = accounts
        self._client = client
        self._temporal = temporal
        self._code = code
        self.orphans = OrphanedRuns(runs, client)

    # -- submit ---------------------------------------------------------------------------------

    async def apply(self, access: ProjectAccess, spec: RunSpec) -> Run:
        configuration = await self._checked_configuration(access, spec)
        run_name = spec.run_name or configuration.name
        if run_name is not None and not _valid_name(run_name):
            raise ApiError(400, f"run_spec.run_name: {run_name!r} must match {RUN_NAME_PATTERN}",
                           "run_spec.run_name")
        now = datetime.now(UTC)
        run_id = str(uuid.uuid4())
        for attempt in range(20 if run_name is None else 2):
            name = run_name or generate_run_name(random.Random())
            workflow_id = f"run-{access.project.name}-{name}-{run_id[:8]}"
            try:
                await self._runs.create(NewRun(
                    id=run_id, project_id=access.project.id, user_id=access.user.id, run_name=name,
                    workflow_id=workflow_id, desired_replicas=initial_replicas(configuration),
                    configuration=configuration.model_dump(mode="json", by_alias=True), submitted_at=now,
                    configuration_yaml=spec.configuration_yaml))
                break
            except ActiveRunExists:
                if run_name is not None:
                    row = await self._runs.latest_by_name(access.project.id, name)
                    if attempt == 0 and row is not None and await self.orphans.fail_if_orphaned(row):
                        continue  # the name is free now
                    return await self._apply_in_place(access, row, name, configuration, spec)
        else:
            raise Conflict("could not generate a free run name; give the run a name")

        state = RunState(run_id=run_id, run_name=name, project=access.project.name, user=access.user.name,
                         workflow_id=workflow_id, configuration=configuration,
                         desired_replicas=initial_replicas(configuration), submitted_at=now,
                         code_hash=spec.repo_code_hash)
        state.record(now, "run submitted")
        try:
            await self._client.start_workflow(
                RUN_WORKFLOW, RunWorkflowInput(state=state, workflow_version=CURRENT_WORKFLOW_VERSION), id=workflow_id,
                task_queue=self._temporal.task_queue,
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
        return self._from_state(state, access, owner_id=access.user.id, source="workflow", deleted=False,
                                configuration_yaml=spec.configuration_yaml)

    async def _apply_in_place(self, access: ProjectAccess, row: RunModel | None, name: str,
                              configuration: RunConfiguration, spec: RunSpec) -> Run:
        """A service re-applied while it runs is updated, not restarted: in place when only what
        the workflow and proxy read changed (replicas, scaling, auth, strip_prefix), else by a
        rolling update. `row` is the name's latest run, read after the name was found taken."""
        if row is None or not row.active:  # it finished in the meantime: the caller may retry
            raise Conflict(f"run {name} was active a moment ago; apply again")
        code_hash = spec.repo_code_hash
        changes = _changes(parse_configuration(row.configuration), configuration,
                           await self._code_hash_of(row), code_hash)
        action = _action(changes, configuration)
        if action not in ("update", "rolling_update"):
            raise Conflict(f"{_active_run_text(name, access.project.name, changes)}; stop it first (the CLI's "
                           "`apply -y` stops it, waits and submits) or choose another name")
        if not access.may_manage_run(row.user_id):
            raise Forbidden(f"run {name} is active and belongs to another user; only its owner or a project "
                            "admin/manager may update it")
        assert isinstance(configuration, ServiceConfiguration)
        command = DeployCommand(configuration=configuration, code_hash=code_hash, roll=action == "rolling_update",
                                changed=[_change_name(change) for change in changes])
        try:
            result = await deploy_run(self._client, row.workflow_id, command)
        except DeployRefused as refusal:
            raise Conflict(f"run {name} can't be updated in place: {refusal}") from None
        log.info("run updated in place", run_id=row.id, run_name=name, rolling=command.roll,
                 deployment_num=result.deployment_num, replicas=result.desired_replicas)
        # The run now runs this configuration: its text is what to show (a rollout that fails goes
        # back to the previous configuration, which this text then no longer matches: see _shown_yaml).
        await self._runs.set_configuration_yaml(row.id, spec.configuration_yaml)
        row.configuration_yaml = spec.configuration_yaml
        return await self.view(row, access)

    async def plan(self, access: ProjectAccess, spec: RunSpec) -> RunPlan:
        configuration = await self._checked_configuration(access, spec)
        name = spec.run_name or configuration.name
        if name is None:
            return RunPlan(run_name=None, action="create", current_run=None, finished_runs=0, changes=[],
                           message="Submit a new run with a generated name?")
        row = await self._runs.latest_by_name(access.project.id, name)
        if row is not None and await self.orphans.fail_if_orphaned(row):
            row = None  # failed now: the name is free
        finished = await self._runs.finished_count(access.project.id, name)
        if row is None or not row.active:
            return RunPlan(run_name=name, action="create", current_run=None, finished_runs=finished, changes=[],
                           message=f"Submit the run {name}?")
        changes = _changes(parse_configuration(row.configuration), configuration,
                           await self._code_hash_of(row), spec.repo_code_hash)
        action = _action(changes, configuration)
        message = _active_run_text(name, access.project.name, changes)
        if action in _QUESTIONS:
            message = f"{message[0].upper()}{message[1:]}. {_QUESTIONS[action]}"
        return RunPlan(run_name=name, action=action, current_run=await self.view(row, access),
                       finished_runs=finished, changes=changes, message=message)

    async def _checked_configuration(self, access: ProjectAccess, spec: RunSpec) -> RunConfiguration:
        """The spec's configuration, once its text (if sent) says the same and its code is there."""
        configuration = parse_configuration(spec.configuration)
        _check_configuration_yaml(spec.configuration_yaml, configuration)
        code_hash = spec.repo_code_hash
        if code_hash is not None and not await self._code.exists(access.project.id, code_hash):
            raise ApiError(400, f"run_spec.repo_code_hash: project {access.project.name} has no code with sha256 "
                                f"{code_hash}; upload it first (code/upload)", "run_spec.repo_code_hash")
        return configuration

    async def _code_hash_of(self, row: RunModel) -> str | None:
        """The code an active run took along. It never changes, so the projection's copy is as good
        as the workflow's; only a run that has not written its projection yet is asked."""
        if row.state is not None:
            code_hash = row.state.get("code_hash")
            return code_hash if isinstance(code_hash, str) else None
        state = await self.query_state(row.workflow_id)
        return state.code_hash if state is not None else None

    # -- read -----------------------------------------------------------------------------------

    async def get(self, access: ProjectAccess, *, run_name: str | None = None, run_id: str | None = None) -> Run:
        row = await find_run(self._runs, access, run_name=run_name, run_id=run_id)
        return await self.view(row, access)

    async def view(self, row: RunModel, access: ProjectAccess) -> Run:
        """Live runs answer from the workflow; finished ones from their final projection. Either
        way with every submission: those a long-lived run's state let go come from the database.
        What the caller may do with it is the caller's (`access`)."""
        state = await self.query_state(row.workflow_id) if row.active else None
        source = "workflow"
        if state is None and row.state is not None:
            state, source = RunState.model_validate(row.state), "projection"
        if state is None:  # its workflow never wrote a projection
            users = await self._accounts.user_names({row.user_id})
            return self._listed(row, None, access, users.get(row.user_id, ""))
        compacted = await self._runs.compacted_submissions(row.id) if state.executions > 1 else []
        return self._from_state(state, access, owner_id=row.user_id, source=source, deleted=row.deleted,
                                compacted=compacted, configuration_yaml=row.configuration_yaml)

    async def query_state(self, workflow_id: str) -> RunState | None:
        return await query_run_state(self._client, workflow_id)

    async def list_runs(self, access: ProjectAccess, request: ListRunsRequest) -> list[Run]:
        return await self._list({access.project.id: access}, request)

    async def list_all(self, caller: User, request: ListAllRunsRequest) -> list[Run]:
        """Runs of every project the caller may see (all of them for a global admin), each with the
        caller's role in its project, which decides what the caller may do with its runs."""
        projects = {project.id: ProjectAccess(user=caller, project=project, role=role)
                    for project, role in await self._accounts.list_projects(caller)}
        if request.project_name is not None:
            projects = {id_: access for id_, access in projects.items() if access.project.name == request.project_name}
            if not projects:
                raise NotFound(f"project {request.project_name} not found")
        return await self._list(projects, request)

    async def _list(self, projects: dict[str, ProjectAccess], request: ListRunsRequest) -> list[Run]:
        """`projects`: the caller's access to each project listed, by project id."""
        user_id = None
        if request.username is not None:
            user = await self._accounts.user_by_name(request.username)
            if user is None:
                return []
            user_id = user.id
        after = None
        if request.prev_submitted_at is not None and request.prev_run_id is not None:
            after = RunCursor(request.prev_submitted_at, request.prev_run_id)
        filters = RunFilters(project_ids=list(projects), user_id=user_id, run_name=request.run_name,
                             name_contains=request.name_contains, statuses=request.statuses,
                             only_active=request.only_active, include_deleted=request.include_deleted)
        listed = await self._runs.list_runs(filters, limit=request.limit, after=after)
        users = await self._accounts.user_names({run.row.user_id for run in listed})
        return [self._listed(run.row, run.replicas, projects[run.row.project_id], users.get(run.row.user_id, ""))
                for run in listed]

    # -- shaping --------------------------------------------------------------------------------

    def _ui_url(self, workflow_id: str, access: ProjectAccess) -> str | None:
        """Global admins only: the Temporal UI shows every project's workflows to whoever opens it."""
        if self._temporal.ui_url is None or not access.user.is_global_admin:
            return None
        return f"{self._temporal.ui_url}/namespaces/{self._temporal.namespace}/workflows/{workflow_id}"

    def _from_state(self, state: RunState, access: ProjectAccess, *, owner_id: str, source: str, deleted: bool,
                    compacted: Sequence[JobSubmission] = (), configuration_yaml: str | None = None) -> Run:
        now = state.finished_at or datetime.now(UTC)
        submissions: dict[int, dict[str, JobSubmission]] = defaultdict(dict)
        for submission in [*compacted, *(s for replica in state.replicas for s in replica.submissions)]:
            submissions[submission.replica_num][submission.id] = submission  # the state's is the newest
        return Run(
            id=state.run_id, project_name=state.project, user=state.user, run_name=state.run_name,
            status=state.status,
            status_message=shown_status_message(
                state.status, state.status_message, (s for by_id in submissions.values() for s in by_id.values())),
            termination_reason=state.termination_reason, submitted_at=state.submitted_at,
            finished_at=state.finished_at, desired_replicas=state.desired_replicas,
            running_replicas=state.running_replicas(), cost=state.cost(now),
            cost_per_hour=0.0 if state.status.is_finished else state.cost_per_hour(), deleted=deleted,
            configuration=configuration_to_yaml_dict(state.configuration),
            configuration_yaml=_shown_yaml(configuration_yaml, state.configuration), repo_code_hash=state.code_hash,
            jobs=[JobInfo(replica_num=replica_num, job_submissions=[
                      _submission_info(s, now) for s in sorted(by_id.values(), key=lambda s: s.submission_num)])
                  for replica_num, by_id in sorted(submissions.items())],
            events=[RunEventInfo.model_validate(event, from_attributes=True) for event in state.events],
            workflow_id=state.workflow_id, temporal_ui_url=self._ui_url(state.workflow_id, access),
            can_manage=access.may_manage_run(owner_id), version=state.version, source=source,
            service=self._service(state.configuration, state.project, state.run_name,
                                  len(state.serving_submissions())),
        )

    def _listed(self, row: RunModel, stored_replicas: list[dict[str, Any]] | None, access: ProjectAccess,
                user_name: str) -> Run:
        """A run as lists show it: from the projection's columns and replicas, with each replica's
        latest submission and no events (validating whole states was most of a page's time)."""
        replicas = _REPLICAS.validate_python(stored_replicas) if stored_replicas is not None else []
        now = row.finished_at or datetime.now(UTC)
        configuration = parse_configuration(row.configuration)
        status = RunStatus(row.status)
        # A run that stops (terminating) or has finished serves nothing, as RunState says.
        ready = len(serving_upstreams(stored_replicas, stopping=status == RunStatus.TERMINATING or status.is_finished))
        latest = [replica.submissions[-1] for replica in replicas if replica.submissions]
        return Run(
            id=row.id, project_name=access.project.name, user=user_name, run_name=row.run_name,
            status=status, status_message=shown_status_message(status, row.status_message, latest),
            termination_reason=RunTerminationReason(row.termination_reason) if row.termination_reason else None,
            submitted_at=row.submitted_at, finished_at=row.finished_at, desired_replicas=row.desired_replicas,
            running_replicas=row.running_replicas,
            cost=sum(s.cost(now) for replica in replicas for s in replica.submissions) if replicas else row.cost,
            cost_per_hour=0.0 if row.finished_at else sum(
                s.price_per_hour for s in latest if s.started_at is not None and s.finished_at is None),
            deleted=row.deleted, configuration=configuration_to_yaml_dict(configuration),
            jobs=[JobInfo(replica_num=replica.replica_num, job_submissions=[_submission_info(s, now)])
                  for replica, s in zip((r for r in replicas if r.submissions), latest, strict=True)],
            events=[], workflow_id=row.workflow_id, temporal_ui_url=self._ui_url(row.workflow_id, access),
            can_manage=access.may_manage_run(row.user_id), version=row.version, source="projection",
            service=self._service(configuration, access.project.name, row.run_name, ready))

    def _service(self, configuration: RunConfiguration, project: str, run_name: str, ready: int) -> ServiceInfo | None:
        if not isinstance(configuration, ServiceConfiguration):
            return None
        return ServiceInfo(url=service_url(self._public_url, project, run_name), ready_replicas=ready)


_REPLICAS = TypeAdapter(list[Replica])
CODE_FIELD = "repo_code_hash"  # as a change in a plan, named like the run spec's field


def _submission_info(s: JobSubmission, now: datetime) -> JobSubmissionInfo:
    return JobSubmissionInfo(
        id=s.id, submission_num=s.submission_num, status=s.status, status_message=s.status_message,
        termination_reason=s.termination_reason, exit_code=s.exit_code, host=s.host_name,
        host_id=s.host_id, gpus=s.gpu_indices, address=s.address, port=s.port, ready=s.ready,
        deployment_num=s.deployment_num, submitted_at=s.submitted_at, started_at=s.started_at,
        finished_at=s.finished_at, price_per_hour=s.price_per_hour, cost=s.cost(now))


def _changes(current: RunConfiguration, new: RunConfiguration, current_code: str | None,
             new_code: str | None) -> list[FieldChange]:
    """What differs, configuration and code alike: other code is a change like another command."""
    before, after = configuration_to_yaml_dict(current), configuration_to_yaml_dict(new)
    changes = [FieldChange(field=field, old=before.get(field), new=after.get(field))
               for field in changed_fields(current, new)]
    if current_code != new_code:
        changes.append(FieldChange(field=CODE_FIELD, old=current_code, new=new_code))
    return changes


# What a running service takes without new replicas, and what a rolling update changes; any other
# change (its type, max_duration) means a new run.
IN_PLACE_FIELDS = {"replicas", "scaling", "auth", "strip_prefix"}
ROLLING_FIELDS = IN_PLACE_FIELDS | {"commands", "env", "resources", "probes", "port", "working_dir", "stop_duration",
                                    "retry", "fleets", CODE_FIELD}


def _action(changes: list[FieldChange], configuration: RunConfiguration) -> RunPlanAction:
    if not changes:
        return "no_change"
    fields = {change.field for change in changes}
    if isinstance(configuration, ServiceConfiguration):
        if fields <= IN_PLACE_FIELDS:
            return "update"
        if fields <= ROLLING_FIELDS:
            return "rolling_update"
    return "replace"


def _change_name(change: FieldChange) -> str:
    return "code" if change.field == CODE_FIELD else change.field


def _active_run_text(name: str, project: str, changes: list[FieldChange]) -> str:
    if not changes:
        return f"run {name} is already active in project {project} with this configuration"
    what = ", ".join(f"{change.field} ({change.old} → {change.new})" if change.field == "replicas"
                     else _change_name(change) for change in changes)
    return f"run {name} is already active in project {project} and its configuration changed in: {what}"


_QUESTIONS = {
    "update": "Update it in place (its replicas keep running)?",
    "rolling_update": "Roll out the new configuration (new replicas start and become ready, then the old ones "
                      "drain and stop, one at a time)?",
    "replace": "Stop it gracefully, wait for it to finish, and submit the new configuration?",
}


def _check_configuration_yaml(text: str | None, configuration: RunConfiguration) -> None:
    """The text a run keeps to show must say what the run runs: it parses to the same configuration."""
    if text is None:
        return
    try:
        written = _parsed_yaml(text)
    except ConfigurationError as error:
        raise ApiError(400, f"run_spec.configuration_yaml: {error}", "run_spec.configuration_yaml") from None
    if written != configuration:
        fields = ", ".join(changed_fields(written, configuration)) or "type"
        raise ApiError(400, f"run_spec.configuration_yaml: it does not parse to run_spec.configuration (they differ "
                            f"in: {fields})", "run_spec.configuration_yaml")


def _shown_yaml(text: str | None, configuration: RunConfiguration) -> str | None:
    """The stored text while it is what the run runs; None (the client renders the configuration)
    once the run runs another, e.g. after a rolling update that failed and went back."""
    if text is None:
        return None
    try:
        return text if _parsed_yaml(text) == configuration else None
    except ConfigurationError:
        return None


@functools.lru_cache(maxsize=256)
def _parsed_yaml(text: str) -> RunConfiguration:
    """Parsed once per text: an open run page reads its run every 2 s."""
    return parse_configuration_yaml(text)


def _valid_name(name: str) -> bool:
    return re.match(RUN_NAME_PATTERN, name) is not None
