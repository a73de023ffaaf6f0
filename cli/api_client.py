"""The HTTP API as the CLI sees it: JSON requests, code uploads and the live log stream. Nothing else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx
from httpx_sse import SSEError, connect_sse

from api.schemas import CodeInfo, UploadedCode
from cli.client_config import ClientConfig

REQUEST_TIMEOUT = httpx.Timeout(30.0)
# A follow can be silent for as long as the workload prints nothing, so no read timeout.
FOLLOW_TIMEOUT = httpx.Timeout(30.0, read=None)


class ApiError(Exception):
    """A refusal or an unreachable server; the message is one line for the user."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ApiClient:
    def __init__(self, config: ClientConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.project = config.project
        self._url = config.url
        self._http = httpx.Client(base_url=config.url, headers={"Authorization": f"Bearer {config.token}"},
                                  timeout=REQUEST_TIMEOUT, transport=transport)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._http.close()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST /api/project/{project}/{path}; the decoded JSON answer."""
        return self._request("POST", f"/api/project/{self.project}/{path}", json=body)

    def post_outside_project(self, path: str, body: dict[str, Any]) -> Any:
        """POST /api/{path} (users, tokens, projects); the decoded JSON answer."""
        return self._request("POST", f"/api/{path}", json=body)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET /api/project/{project}/{path}; the decoded JSON answer."""
        return self._request("GET", f"/api/project/{self.project}/{path}", params=params)

    def _request(self, method: str, url: str, **options: Any) -> Any:
        try:
            response = self._http.request(method, url, **options)
        except httpx.HTTPError as error:
            raise self._unreachable(error) from None
        _raise_for_status(response)
        return response.json()

    # -- runs -----------------------------------------------------------------------------------

    def apply(self, run_spec: dict[str, Any]) -> dict[str, Any]:
        return self.post("runs/apply", {"run_spec": run_spec})

    def plan(self, run_spec: dict[str, Any]) -> dict[str, Any]:
        return self.post("runs/get_plan", {"run_spec": run_spec})

    def get_run(self, run_name: str | None = None, run_id: str | None = None) -> dict[str, Any]:
        body = {"id": run_id} if run_id is not None else {"run_name": run_name}
        return self.post("runs/get", body)

    def list_runs(self, *, only_active: bool, limit: int | None = None, include_deleted: bool = False,
                  run_name: str | None = None) -> list[dict[str, Any]]:
        """Newest first; every page when `limit` is None, else at most `limit` runs."""
        runs: list[dict[str, Any]] = []
        page_size = min(limit, 1000) if limit is not None else 100
        body: dict[str, Any] = {"only_active": only_active, "include_deleted": include_deleted, "limit": page_size}
        if run_name is not None:
            body["run_name"] = run_name
        while True:
            page: list[dict[str, Any]] = self.post("runs/list", body)
            runs += page
            if len(page) < page_size or (limit is not None and len(runs) >= limit):
                return runs[:limit]
            body = {**body, "prev_submitted_at": page[-1]["submitted_at"], "prev_run_id": page[-1]["id"]}

    def stop_runs(self, names: list[str], abort: bool) -> list[dict[str, Any]]:
        answer = self.post("runs/stop", {"runs_names": names, "abort": abort})
        return answer["results"]

    def delete_runs(self, names: list[str]) -> list[dict[str, Any]]:
        return self.post("runs/delete", {"runs_names": names})["results"]

    def scale_runs(self, names: list[str], replicas: int) -> list[dict[str, Any]]:
        return self.post("runs/scale", {"runs_names": names, "replicas": replicas})["results"]

    # -- code -----------------------------------------------------------------------------------

    def code_info(self, code_hash: str) -> CodeInfo:
        """The project's code of that sha256; ApiError 404 when it has none."""
        return CodeInfo.model_validate(self.post("code/get_info", {"hash": code_hash}))

    def upload_code(self, archive: bytes) -> UploadedCode:
        return UploadedCode.model_validate(self._request(
            "POST", f"/api/project/{self.project}/code/upload", content=archive,
            headers={"Content-Type": "application/octet-stream"}))

    # -- users, tokens, projects -------------------------------------------------------------------

    def my_user(self) -> dict[str, Any]:
        return self.post_outside_project("users/get_my_user", {})

    def list_users(self) -> list[dict[str, Any]]:
        return self.post_outside_project("users/list", {})

    def create_user(self, username: str, global_role: str) -> dict[str, Any]:
        return self.post_outside_project("users/create", {"username": username, "global_role": global_role})

    def set_global_role(self, username: str, global_role: str) -> dict[str, Any]:
        return self.post_outside_project("users/update", {"username": username, "global_role": global_role})

    def create_token(self, username: str | None, name: str) -> dict[str, Any]:
        return self.post_outside_project("users/tokens/create", {"username": username, "name": name})

    def list_tokens(self, username: str | None) -> list[dict[str, Any]]:
        return self.post_outside_project("users/tokens/list", {"username": username})

    def revoke_token(self, token_id: str) -> dict[str, Any]:
        return self.post_outside_project("users/tokens/revoke", {"id": token_id})

    def list_projects(self) -> list[dict[str, Any]]:
        return self.post_outside_project("projects/list", {})

    def create_project(self, project_name: str) -> dict[str, Any]:
        return self.post_outside_project("projects/create", {"project_name": project_name})

    def delete_projects(self, project_names: list[str]) -> list[dict[str, Any]]:
        return self.post_outside_project("projects/delete", {"projects_names": project_names})

    def get_project(self, project_name: str) -> dict[str, Any]:
        return self.post_outside_project(f"projects/{quote(project_name, safe='')}/get", {})

    def add_members(self, project_name: str, members: list[dict[str, str]]) -> dict[str, Any]:
        return self.post_outside_project(f"projects/{quote(project_name, safe='')}/add_members", {"members": members})

    def remove_members(self, project_name: str, usernames: list[str]) -> dict[str, Any]:
        return self.post_outside_project(f"projects/{quote(project_name, safe='')}/remove_members",
                                         {"usernames": usernames})

    # -- metrics --------------------------------------------------------------------------------

    def run_stats(self, run_name: str) -> dict[str, Any]:
        """The run's status and the latest sample of each replica running now."""
        return self.get(f"metrics/run/{quote(run_name, safe='')}")

    # -- logs -----------------------------------------------------------------------------------

    def poll_logs(self, *, run_name: str | None, run_id: str | None,
                  replica_num: int) -> Iterator[dict[str, Any]]:
        """Every stored line of one replica, page by page."""
        token: str | None = None
        while True:
            page = self.post("logs/poll", {"run_name": run_name, "run_id": run_id, "replica_num": replica_num,
                                           "next_token": token})
            yield from page["logs"]
            if not page["logs"]:
                return
            token = page["next_token"]

    def follow_logs(self, *, run_name: str | None, run_id: str | None,
                    replica_num: int) -> Iterator[dict[str, Any]]:
        """Lines from the start, then live ones, until the server says the run has ended."""
        params: dict[str, Any] = {"replica_num": replica_num}
        params.update({"run_id": run_id} if run_id is not None else {"run_name": run_name})
        try:
            with connect_sse(self._http, "GET", f"/api/project/{self.project}/logs/follow", params=params,
                             timeout=FOLLOW_TIMEOUT) as source:
                if source.response.is_error:
                    source.response.read()
                    _raise_for_status(source.response)
                for event in source.iter_sse():
                    if event.event == "log":
                        yield json.loads(event.data)
                    elif event.event == "end":
                        return
        except (httpx.HTTPError, SSEError) as error:
            raise self._unreachable(error) from None
        raise ApiError(f"the log stream from {self._url} ended early; try `durastack logs -f` again")

    def _unreachable(self, error: Exception) -> ApiError:
        return ApiError(f"can't reach the server at {self._url}: {str(error) or type(error).__name__}")


def _raise_for_status(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        detail = str(response.json()["detail"])
    except (ValueError, KeyError, TypeError):
        detail = response.text.strip().splitlines()[0] if response.text.strip() else response.reason_phrase
    if response.status_code == 401:
        detail += " (check --token, DURASTACK_TOKEN or the config file)"
    raise ApiError(detail, response.status_code)
