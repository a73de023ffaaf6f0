"""Histories recorded from earlier versions of RunWorkflow must still replay (determinism).

`*-workflow-vN.json` were recorded from runs started with workflow version N (workflows/messages.py),
the others from version 1; `continue-as-new-workflow-vN.json` are executions that continued as new
(recorded by tests/workflows/test_run_workflow.py). Record new ones with DURASTACK_RECORD_HISTORIES=DIR (see
tests/integration/test_replay.py) when a change adds a workflow version, and keep the old ones."""

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
