"""What `durastack apply` asks before it touches a name that is taken."""

from __future__ import annotations

import pytest

from cli import apply_command


def plan(action: str, finished_runs: int = 0) -> dict[str, object]:
    return {"action": action, "finished_runs": finished_runs, "message": f"question about {action}?"}


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    questions: list[str] = []

    def confirm(question: str) -> bool:
        questions.append(question)
        return True

    monkeypatch.setattr(apply_command, "confirm", confirm)
    return questions


def test_a_fresh_name_is_never_asked_about(asked: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apply_command, "stdin_is_terminal", lambda: True)
    assert apply_command._agreed(plan("create"), yes=False)
    assert asked == []


@pytest.mark.parametrize("action", ["create", "update", "replace"])
def test_a_terminal_gets_the_plans_question(action: str, asked: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apply_command, "stdin_is_terminal", lambda: True)
    assert apply_command._agreed(plan(action, finished_runs=2), yes=False)
    assert asked == [f"question about {action}?"]


@pytest.mark.parametrize("action", ["create", "update", "replace"])
def test_yes_answers_without_asking(action: str, asked: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apply_command, "stdin_is_terminal", lambda: True)
    assert apply_command._agreed(plan(action, finished_runs=1), yes=True)
    assert asked == []


def test_without_a_terminal_only_an_active_run_needs_yes(asked: list[str], monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(apply_command, "stdin_is_terminal", lambda: False)
    assert apply_command._agreed(plan("create", finished_runs=3), yes=False)  # reusing a name harms nothing
    assert not apply_command._agreed(plan("update"), yes=False)
    assert not apply_command._agreed(plan("replace"), yes=False)
    assert asked == []
    assert capsys.readouterr().err.splitlines() == [
        "error: question about update? Not asking without a terminal; pass -y to go ahead",
        "error: question about replace? Not asking without a terminal; pass -y to go ahead"]
