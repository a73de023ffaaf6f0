"""Histories recorded from earlier versions of RunWorkflow must still replay (determinism).

Refresh them with DURASTACK_RECORD_HISTORIES=tests/histories (see tests/integration/test_replay.py)
only when a change is meant to break compatibility, and version the workflow then."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import WorkflowHistory

from tests.support.replay import replay

HISTORIES = Path(__file__).resolve().parents[1] / "histories"


async def test_recorded_histories_replay() -> None:
    files = sorted(HISTORIES.glob("*.json"))
    assert files, "no recorded histories"
    histories = [WorkflowHistory.from_json(f.stem, f.read_text()) for f in files]
    assert await replay(histories) == len(files)
