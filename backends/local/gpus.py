"""The host's GPUs, as nvidia-smi reports them."""

from __future__ import annotations

import contextlib
import shutil
import subprocess

import structlog

from core.gpus import Gpu

log = structlog.get_logger(__name__)

NVIDIA_SMI_QUERY = ["--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"]
# A healthy nvidia-smi answers in well under a second; a wedged driver can hang it for minutes.
_NVIDIA_SMI_TIMEOUT_SECONDS = 5.0
# What nvidia-smi prints for a value a GPU doesn't report (memory of some integrated GPUs).
_NOT_REPORTED = {"[N/A]", "[Not Supported]"}


def detect_gpus(timeout: float = _NVIDIA_SMI_TIMEOUT_SECONDS) -> tuple[Gpu, ...]:
    """The GPUs nvidia-smi on PATH sees; none without it. A host whose nvidia-smi fails offers no
    GPUs rather than ones it can't vouch for, and says why."""
    nvidia_smi = shutil.which("nvidia-smi")
    if nvidia_smi is None:
        return ()
    try:
        process = subprocess.Popen([nvidia_smi, *NVIDIA_SMI_QUERY], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
    except OSError as error:
        log.warning("nvidia-smi could not run; offering no GPUs", nvidia_smi=nvidia_smi, error=str(error))
        return ()
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        # One stuck in the driver may not die at all: it is left behind rather than waited for.
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=1)
        log.warning("nvidia-smi did not answer; offering no GPUs", nvidia_smi=nvidia_smi, timeout_seconds=timeout)
        return ()
    if process.returncode != 0:
        log.warning("nvidia-smi failed; offering no GPUs", nvidia_smi=nvidia_smi, exit_code=process.returncode,
                    output=(stderr or stdout).strip()[:500])
        return ()
    try:
        gpus = parse_nvidia_smi(stdout)
    except ValueError as error:
        log.warning("nvidia-smi's answer is not what was asked for; offering no GPUs", nvidia_smi=nvidia_smi,
                    error=str(error))
        return ()
    log.info("GPUs detected", gpus=[f"{gpu.index}: {gpu.name} ({gpu.memory_mb}MB)" for gpu in gpus])
    return gpus


def parse_nvidia_smi(output: str) -> tuple[Gpu, ...]:
    """`0, NVIDIA A100-SXM4-80GB, 81920` a line (index, name, memory.total in MiB) → the GPUs,
    by index. Raises ValueError on anything else."""
    gpus: list[Gpu] = []
    for line in output.splitlines():
        if not line.strip():
            continue
        try:
            index, rest = line.split(",", 1)
            name, memory = (field.strip() for field in rest.rsplit(",", 1))
            gpu = Gpu(index=int(index), name=name, memory_mb=0 if memory in _NOT_REPORTED else int(memory))
        except ValueError:  # also pydantic's ValidationError
            raise ValueError(f"unexpected line {line[:200]!r}") from None
        if not gpu.name:
            raise ValueError(f"a GPU without a name: {line[:200]!r}")
        gpus.append(gpu)
    indices = [gpu.index for gpu in gpus]
    if len(set(indices)) != len(indices):
        raise ValueError(f"the same index twice: {indices}")
    return tuple(sorted(gpus, key=lambda gpu: gpu.index))
