"""The fleets and instances API as the CLI calls it, with the API's own models."""

from __future__ import annotations

from typing import Any

from api.fleet_schemas import (
    ApplyFleetRequest,
    DeleteFleetsRequest,
    Fleet,
    FleetSpec,
    GetFleetRequest,
    ListFleetsRequest,
)
from cli.api_client import ApiClient, ApiError


class FleetClient:
    def __init__(self, api: ApiClient) -> None:
        self._api = api

    @property
    def project(self) -> str:
        return self._api.project

    def apply(self, configuration: dict[str, Any]) -> Fleet:
        request = ApplyFleetRequest(spec=FleetSpec(configuration=configuration))
        return Fleet.model_validate(self._api.post("fleets/apply", request.model_dump(mode="json")))

    def get(self, name: str) -> Fleet | None:
        """None when the project has no fleet of that name."""
        try:
            answer = self._api.post("fleets/get", GetFleetRequest(name=name).model_dump(mode="json"))
        except ApiError as error:
            if error.status_code == 404:
                return None
            raise
        return Fleet.model_validate(answer)

    def list_fleets(self, include_terminated: bool = False) -> list[Fleet]:
        answer = self._api.post("fleets/list", ListFleetsRequest(include_terminated=include_terminated)
                                .model_dump(mode="json"))
        return [Fleet.model_validate(fleet) for fleet in answer]

    def delete(self, names: list[str]) -> list[Fleet]:
        answer = self._api.post("fleets/delete", DeleteFleetsRequest(names=names).model_dump(mode="json"))
        return [Fleet.model_validate(fleet) for fleet in answer]
