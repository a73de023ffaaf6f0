"""A host's GPUs, from a fake nvidia-smi first on PATH: the local backend offers them, and a job sees
exactly its own GPUs through CUDA_VISIBLE_DEVICES."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from backends.local.compute import LocalCompute
from backends.local.gpus import detect_gpus
from tests.integration.test_local_backend import compute, job, wait_exit
from tests.support.cleanup import kill_jobs

pytestmark = pytest.mark.integration

FOUR_GPUS = """\
0, NVIDIA A100-SXM4-80GB, 81920
1, NVIDIA A100-SXM4-80GB, 81920
2, NVIDIA A100-SXM4-80GB, 81920
3, NVIDIA A100-SXM4-80GB, 81920"""
SHOW_GPUS = 'echo "visible=[${CUDA_VISIBLE_DEVICES-unset}]"'


@pytest.fixture(autouse=True)
def _no_job_outlives_its_test(tmp_path: Path) -> Iterator[None]:
    yield
    kill_jobs(tmp_path / "jobs")


def fake_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    """An nvidia-smi whose script is `body`, first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "nvidia-smi"
    script.write_text(f"#!/usr/bin/env bash\n{body}\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{_path_without_nvidia_smi()}")


def _path_without_nvidia_smi() -> str:
    """This machine's PATH minus any real nvidia-smi, so that what a test sees is its fake's."""
    return ":".join(directory for directory in os.environ.get("PATH", "").split(":")
                    if not (Path(directory) / "nvidia-smi").exists())


def four_gpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Answers only the query detect_gpus makes, as a real one would.
    fake_nvidia_smi(tmp_path, monkeypatch, f"""\
[[ "$*" == "--query-gpu=index,name,memory.total --format=csv,noheader,nounits" ]] || exit 2
cat <<'EOF'
{FOUR_GPUS}
EOF""")


async def visible_gpus(backend: LocalCompute, submission_id: str, gpu_indices: list[int]) -> str:
    # The configuration's env can't widen what a job sees.
    spec = job(submission_id, SHOW_GPUS).model_copy(update={"gpu_indices": gpu_indices,
                                                            "env": {"CUDA_VISIBLE_DEVICES": "0,1,2,3"}})
    await backend.run_job(spec)
    assert (await wait_exit(backend, submission_id)).exit_code == 0
    lines, _ = backend.read_output(submission_id, 0, 1 << 20)
    return next(line.message for line in lines if line.message.startswith("visible="))


async def test_the_host_offers_its_gpus_and_a_job_sees_exactly_its_own(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    four_gpus(tmp_path, monkeypatch)
    backend = compute(tmp_path)
    offer = backend.offer()
    assert [(gpu.index, gpu.name, gpu.model, gpu.memory_mb) for gpu in offer.gpus] == [
        (index, "NVIDIA A100-SXM4-80GB", "A100", 81920) for index in range(4)]
    assert await visible_gpus(backend, "two-gpus", [1, 3]) == "visible=[1,3]"
    assert await visible_gpus(backend, "no-gpus", []) == "visible=[]"  # the host has GPUs: this job sees none


async def test_a_host_without_nvidia_smi_offers_no_gpus_and_leaves_the_variable_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", _path_without_nvidia_smi())
    backend = compute(tmp_path)
    assert backend.offer().gpus == ()
    assert await visible_gpus(backend, "no-gpus", []) == "visible=[0,1,2,3]"  # its own env's


@pytest.mark.parametrize(("body", "warning"), [
    ('echo "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver." >&2; exit 9',
     "nvidia-smi failed; offering no GPUs"),
    ("echo 'GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-1234)'",
     "nvidia-smi's answer is not what was asked for; offering no GPUs"),
    ("exec sleep 30", "nvidia-smi did not answer; offering no GPUs"),
], ids=["failing", "garbled", "hanging"])
def test_a_broken_nvidia_smi_means_no_gpus_and_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          body: str, warning: str) -> None:
    fake_nvidia_smi(tmp_path, monkeypatch, body)
    started = time.monotonic()
    with structlog.testing.capture_logs() as logs:
        assert detect_gpus(timeout=0.5) == ()
    assert time.monotonic() - started < 5
    assert [entry["event"] for entry in logs if entry["log_level"] == "warning"] == [warning]
