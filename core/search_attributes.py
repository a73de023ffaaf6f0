"""Custom search attributes that make runs findable in the Temporal Web UI."""

from temporalio.common import SearchAttributeKey

PROJECT = SearchAttributeKey.for_keyword("DurastackProject")
RUN_NAME = SearchAttributeKey.for_keyword("DurastackRunName")
RUN_STATUS = SearchAttributeKey.for_keyword("DurastackRunStatus")

ALL = (PROJECT, RUN_NAME, RUN_STATUS)


def dev_server_flags() -> list[str]:
    """`temporal server start-dev` flags that register them."""
    return [flag for key in ALL for flag in ("--search-attribute", f"{key.name}=Keyword")]
