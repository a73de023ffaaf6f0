"""GPUs: what a host has, what a replica asks for (dstack's forms), and which GPUs it gets."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from core.units import format_memory, parse_memory_mb

MAX_GPUS_PER_REPLICA = 16
_UNIT_RE = re.compile(r"[KMGT]", re.IGNORECASE)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
_EXAMPLES = "GPUs such as 24GB, A100, A100:2, 2, A100:40GB:2 or A10G,A100:2"


class Gpu(BaseModel):
    """One GPU of a host, as its driver reports it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int = Field(ge=0)  # what CUDA_VISIBLE_DEVICES names it by
    name: str  # in full: "NVIDIA A100-SXM4-80GB"
    memory_mb: int = Field(ge=0)

    @property
    def model(self) -> str:
        """The short name runs ask for: "A100"."""
        return gpu_model(self.name)

    def matches(self, spec: GpuSpec) -> bool:
        if spec.memory_mb is not None and self.memory_mb < spec.memory_mb:
            return False
        if spec.names is None:
            return True
        known_as = {self.model.casefold(), self.name.casefold()}
        return any(name.casefold() in known_as for name in spec.names)


def gpu_model(name: str) -> str:
    """The model in a driver's name, the way dstack writes it: "NVIDIA A100-SXM4-80GB" → "A100",
    "Tesla T4" → "T4", "NVIDIA GeForce RTX 4090" → "RTX4090", "NVIDIA RTX A6000" → "A6000"."""
    short = name.strip()
    for brand in ("NVIDIA ", "Tesla ", "Quadro ", "GeForce "):
        short = short.replace(brand, "")
    if "RTX A" in short:  # the professional Ampere cards are known by their A number
        short = short.replace("RTX A", "A")
    short = short.replace(" Ti", "Ti").replace(" SUPER", "SUPER").replace(" NVL", "NVL")
    short = short.replace(" Ada Generation", "Ada")
    short = short.replace("RTX ", "RTX")
    # Data-centre models (A100, H100, L40S, T4, V100, A10G, GH200, ...) before form factor and memory.
    if match := re.search(r"\b(?:G[BH]\d+|[ABHLPTV]\d+\w*)", short):
        return match.group(0)
    return short.replace(" ", "")


class GpuSpec(BaseModel):
    """The GPUs each replica asks for. Accepts dstack's forms: `24GB`, `A100`, `A100:2`, `2`,
    `A100:40GB:2`, `A10G,A100:2`, and `{name: A100 | [A100, H100], count: 2, memory: 40GB}`."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    names: list[str] | None = Field(default=None, alias="name", description="accepted models; any when absent")
    count: int = Field(default=1, ge=1, le=MAX_GPUS_PER_REPLICA, description="GPUs for each replica")
    memory_mb: int | None = Field(default=None, gt=0, alias="memory", description="minimum memory of each GPU")

    @model_validator(mode="before")
    @classmethod
    def _parse_short_forms(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"expected {_EXAMPLES}")
        if isinstance(value, int):
            return {"count": value}
        if isinstance(value, str):
            return _parse_gpu_string(value)
        if not isinstance(value, dict | GpuSpec):
            raise ValueError(f"expected {_EXAMPLES}, or {{name: A100, count: 2, memory: 40GB}}")
        memory = value.get("memory") if isinstance(value, dict) else None
        if isinstance(value, dict) and isinstance(memory, int | float) and not isinstance(memory, bool):
            # A bare number is GB in what users write, as everywhere; memory_mb=40960 stays MB.
            return {**value, "memory": f"{memory}GB"}
        return value

    @field_validator("names", mode="before")
    @classmethod
    def _parse_names(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            raise ValueError("name must be a GPU model such as A100, or a list of them")
        names = [name.strip() for name in value]
        if not names:
            raise ValueError("name can't be an empty list; leave it out to accept any GPU")
        for name in names:
            if not _NAME_RE.match(name):
                raise ValueError(f"{name!r} is not a GPU model; use e.g. A100 or H100")
        return names

    @field_validator("count", mode="before")
    @classmethod
    def _refuse_ranges(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("count must be a number of GPUs")
        if isinstance(value, str) and ".." in value:
            raise ValueError(f"{value!r} is a range; give the exact number of GPUs, e.g. 2")
        return value

    @field_validator("memory_mb", mode="before")
    @classmethod
    def _parse_memory(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("memory must be a size such as 40GB")
        if not isinstance(value, str):
            return value  # MB, or what pydantic refuses
        if value.strip().endswith(".."):
            value = value.strip().removesuffix("..")  # "40GB..": at least 40GB, which memory always means
        if ".." in value:
            raise ValueError(f"{value!r} is a range; give the minimum memory per GPU, e.g. 40GB")
        return parse_memory_mb(value)

    @field_serializer("memory_mb")
    def _memory_with_unit(self, memory_mb: int | None) -> str | None:
        # A bare number would read back as GB.
        return None if memory_mb is None else f"{memory_mb}MB"

    def describe(self) -> str:
        """One line for messages: the count, the models and the minimum memory of each GPU."""
        models = "/".join(self.names) if self.names else "GPU"
        memory = f" (≥{format_memory(self.memory_mb)})" if self.memory_mb is not None else ""
        return f"{self.count}\N{MULTIPLICATION SIGN}{models}{memory}"


def _parse_gpu_string(text: str) -> dict[str, Any]:
    """`A100:40GB:2` and its kin → the dict form; each part is a count, a size or models, in any order."""
    fields: dict[str, Any] = {}
    parts = [part.strip() for part in text.split(":")]
    if not any(parts):
        raise ValueError(f"expected {_EXAMPLES}")
    for part in parts:
        if not part:
            raise ValueError(f"{text!r} has an empty part; use e.g. A100:40GB:2")
        # Models start with a letter (A100, RTX4090); of the rest, sizes have a unit.
        key = "name" if not part[0].isdigit() else "memory" if _UNIT_RE.search(part) else "count"
        if key in fields:
            what = {"count": "two counts", "memory": "two sizes", "name": "two lists of models"}[key]
            raise ValueError(f"{text!r} has {what}; use e.g. A100:40GB:2, or A10G,A100:2 for either model")
        fields[key] = part  # each field's validator reads it, and says what is wrong with it
    return fields


def choose_gpus(spec: GpuSpec, gpus: Sequence[Gpu], taken: Collection[int]) -> list[int] | None:
    """The indices of the GPUs to give a replica, lowest first; None when not enough are free now.
    A replica's GPUs are all of one model, as on any cloud instance, so that they work in step."""
    free = sorted((gpu for gpu in gpus if gpu.index not in taken and gpu.matches(spec)), key=lambda gpu: gpu.index)
    choices: list[list[int]] = []
    for model in {gpu.model for gpu in free}:
        of_model = [gpu.index for gpu in free if gpu.model == model]
        if len(of_model) >= spec.count:
            choices.append(of_model[:spec.count])
    return min(choices) if choices else None


def could_ever_fit(spec: GpuSpec, gpus: Sequence[Gpu]) -> bool:
    """Whether the host could give a replica these GPUs once every other replica has gone."""
    return choose_gpus(spec, gpus, taken=()) is not None


def parse_gpu_spec(value: object) -> GpuSpec:
    """Any of the forms GpuSpec accepts; a ValueError says what is wrong, in one line."""
    try:
        return GpuSpec.model_validate(value)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise ValueError(f"{where}: {message}" if where else message) from None
