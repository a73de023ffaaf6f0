"""GPUs: dstack's forms of `resources.gpu`, which GPUs a replica gets, and what nvidia-smi reports."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from backends.local.gpus import parse_nvidia_smi
from core.configuration import ConfigurationError, Resources, parse_configuration
from core.gpus import Gpu, GpuSpec, choose_gpus, could_ever_fit, gpu_model, parse_gpu_spec

TIMES = "\N{MULTIPLICATION SIGN}"
TASK: dict[str, Any] = {"type": "task", "commands": ["nvidia-smi"]}
# The query detect_gpus makes: index, name, memory.total (MiB), as a DGX A100 and a T4 box answer it.
DGX_A100 = """\
0, NVIDIA A100-SXM4-80GB, 81920
1, NVIDIA A100-SXM4-80GB, 81920
2, NVIDIA A100-SXM4-80GB, 81920
3, NVIDIA A100-SXM4-80GB, 81920
"""
MIXED = """\
0, Tesla T4, 15360
1, NVIDIA A100-SXM4-40GB, 40960
2, NVIDIA A100-SXM4-80GB, 81920
3, Tesla T4, 15360
4, NVIDIA GeForce RTX 4090, 24564
"""


def spec(value: object) -> GpuSpec:
    return parse_gpu_spec(value)


@pytest.mark.parametrize(("value", "names", "count", "memory_mb"), [
    ("24GB", None, 1, 24 * 1024),
    ("A100", ["A100"], 1, None),
    ("A100:2", ["A100"], 2, None),
    ("2", None, 2, None),
    (2, None, 2, None),
    ("A100:40GB:2", ["A100"], 2, 40 * 1024),
    ("2:A100:40GB", ["A100"], 2, 40 * 1024),  # any order, as in dstack
    ("A10G,A100:2", ["A10G", "A100"], 2, None),
    (" A10G , A100 : 2 ", ["A10G", "A100"], 2, None),
    ("40GB..", None, 1, 40 * 1024),  # dstack's "at least": what memory means here anyway
    ("h100:16", ["h100"], 16, None),
    ({"name": "A100", "count": 2, "memory": "40GB"}, ["A100"], 2, 40 * 1024),
    ({"name": ["A100", "H100"], "count": 2}, ["A100", "H100"], 2, None),
    ({"name": "A10G,A100"}, ["A10G", "A100"], 1, None),
    ({"memory": 80}, None, 1, 80 * 1024),  # a bare number is GB, as everywhere
    ({"count": "4"}, None, 4, None),
    ({"memory_mb": 40960}, None, 1, 40 * 1024),  # by its field's name, the number is MB
])
def test_dstacks_forms_parse(value: object, names: list[str] | None, count: int, memory_mb: int | None) -> None:
    parsed = spec(value)
    assert (parsed.names, parsed.count, parsed.memory_mb) == (names, count, memory_mb)
    # What it is stored and sent as reads back the same, by field names and by aliases.
    assert spec(parsed.model_dump(mode="json")) == parsed
    assert spec(parsed.model_dump(mode="json", by_alias=True)) == parsed


@pytest.mark.parametrize(("value", "message"), [
    ("", "expected GPUs such as 24GB, A100, A100:2"),
    (True, "expected GPUs such as"),
    ([1], "or {name: A100, count: 2, memory: 40GB}"),
    ("A100:", "'A100:' has an empty part"),
    ("A100::2", "has an empty part"),
    ("A100:2:3", "'A100:2:3' has two counts"),
    ("24GB:A100:40GB", "has two sizes"),
    ("A100:H100", "has two lists of models; use e.g. A100:40GB:2, or A10G,A100:2 for either model"),
    ("A100:0", "count: Input should be greater than or equal to 1"),
    ("A100:17", "count: Input should be less than or equal to 16"),
    ("A100:2.5", "count: Input should be a valid integer"),
    ("1..2", "count: '1..2' is a range; give the exact number of GPUs"),
    ("40GB..80GB", "memory: '40GB..80GB' is a range; give the minimum memory per GPU"),
    ("A100:0GB", "memory: a size must be positive"),
    ("A100!", "name: 'A100!' is not a GPU model"),
    ({"name": []}, "name: name can't be an empty list; leave it out to accept any GPU"),
    ({"name": 5}, "name: name must be a GPU model such as A100, or a list of them"),
    ({"count": True}, "count: count must be a number of GPUs"),
    ({"memory": True}, "memory: memory must be a size such as 40GB"),
    ({"memory": -1}, "memory: '-1GB' is not a size"),
    ({"name": "A100", "vendor": "nvidia"}, "vendor: Extra inputs are not permitted"),
])
def test_bad_forms_say_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        spec(value)
    assert message in str(raised.value)


@pytest.mark.parametrize(("gpu", "field", "message"), [
    ("A100:99", "resources.gpu.count", "less than or equal to 16"),
    ("A100:2:3", "resources.gpu", "'A100:2:3' has two counts"),
    ("A100!", "resources.gpu.name", "'A100!' is not a GPU model"),
    ({"name": "A100", "vendor": "amd"}, "resources.gpu.vendor", "unknown field"),
    ([], "resources.gpu", "expected GPUs such as"),
])
def test_a_bad_gpu_in_a_configuration_names_the_field(gpu: object, field: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        parse_configuration({**TASK, "resources": {"gpu": gpu}})
    assert raised.value.field == field
    assert message in raised.value.message


def test_resources_carry_the_gpu_and_describe_it() -> None:
    assert Resources().gpu is None
    assert Resources.model_validate({"gpu": 0}).gpu is None  # dstack's way of saying none
    assert Resources.model_validate({"gpu": "0"}).gpu is None
    resources = Resources.model_validate({"cpu": 8, "memory": "64GB", "gpu": "A100:40GB:2"})
    assert resources.gpu == GpuSpec(names=["A100"], count=2, memory_mb=40 * 1024)
    assert resources.describe() == f"8 CPU, 64GB, 2{TIMES}A100 (≥40GB)"
    assert Resources.model_validate({"gpu": "2"}).describe() == f"1 CPU, 512MB, 2{TIMES}GPU"
    assert Resources.model_validate({"gpu": "A10G,A100"}).describe() == f"1 CPU, 512MB, 1{TIMES}A10G/A100"
    for dumped in (resources.model_dump(mode="json"), resources.model_dump(mode="json", by_alias=True)):
        assert Resources.model_validate(dumped) == resources
    configuration = parse_configuration({**TASK, "resources": {"gpu": {"name": ["A100", "H100"], "count": 2}}})
    assert configuration.resources.gpu == GpuSpec(names=["A100", "H100"], count=2)


@pytest.mark.parametrize(("name", "model"), [
    ("NVIDIA A100-SXM4-80GB", "A100"),
    ("NVIDIA A100 80GB PCIe", "A100"),
    ("Tesla T4", "T4"),
    ("Tesla V100-SXM2-16GB", "V100"),
    ("NVIDIA H100 80GB HBM3", "H100"),
    ("NVIDIA H100 NVL", "H100NVL"),
    ("NVIDIA A10G", "A10G"),
    ("NVIDIA L40S", "L40S"),
    ("NVIDIA GH200 480GB", "GH200"),
    ("NVIDIA RTX A6000", "A6000"),
    ("NVIDIA GeForce RTX 4090", "RTX4090"),
    ("NVIDIA GeForce RTX 3060 Ti", "RTX3060Ti"),
    ("NVIDIA RTX 4000 Ada Generation", "RTX4000Ada"),
])
def test_driver_names_give_the_model_runs_ask_for(name: str, model: str) -> None:
    assert gpu_model(name) == model
    assert Gpu(index=0, name=name, memory_mb=1).model == model


def test_nvidia_smi_output_parses() -> None:
    gpus = parse_nvidia_smi(MIXED)
    assert [(gpu.index, gpu.name, gpu.model, gpu.memory_mb) for gpu in gpus] == [
        (0, "Tesla T4", "T4", 15360),
        (1, "NVIDIA A100-SXM4-40GB", "A100", 40960),
        (2, "NVIDIA A100-SXM4-80GB", "A100", 81920),
        (3, "Tesla T4", "T4", 15360),
        (4, "NVIDIA GeForce RTX 4090", "RTX4090", 24564),
    ]
    assert len(parse_nvidia_smi(DGX_A100)) == 4
    assert parse_nvidia_smi("") == ()
    # Sorted by index whatever the order; a GPU that doesn't report its memory still counts.
    assert [gpu.index for gpu in parse_nvidia_smi("1, NVIDIA A10G, 23028\n0, NVIDIA GH200 480GB, [N/A]\n")] == [0, 1]
    assert parse_nvidia_smi("0, NVIDIA GH200 480GB, [N/A]\n")[0].memory_mb == 0


@pytest.mark.parametrize("output", [
    "No devices were found\n",
    "0, NVIDIA A100-SXM4-80GB\n",  # a field short
    "zero, NVIDIA A100-SXM4-80GB, 81920\n",
    "0, NVIDIA A100-SXM4-80GB, 80 GiB\n",  # units, which the query turns off
    "-1, NVIDIA A100-SXM4-80GB, 81920\n",
    "0, , 81920\n",
    "0, Tesla T4, 15360\n0, Tesla T4, 15360\n",
    "index, name, memory.total [MiB]\n0, Tesla T4, 15360\n",  # a header, which the query turns off
])
def test_garbled_nvidia_smi_output_is_refused(output: str) -> None:
    with pytest.raises(ValueError):
        parse_nvidia_smi(output)


def test_choose_gpus_gives_the_lowest_free_matching_gpus() -> None:
    gpus = parse_nvidia_smi(MIXED)
    assert choose_gpus(spec("A100"), gpus, taken=()) == [1]
    assert choose_gpus(spec("A100:2"), gpus, taken=()) == [1, 2]
    assert choose_gpus(spec("A100:2"), gpus, taken={1}) is None  # not now
    assert choose_gpus(spec("a100:80GB"), gpus, taken=()) == [2]  # case-insensitive; memory is a minimum
    assert choose_gpus(spec("A100:80GB:2"), gpus, taken=()) is None
    assert choose_gpus(spec("T4:2"), gpus, taken=()) == [0, 3]
    assert choose_gpus(spec("24GB"), gpus, taken=()) == [1]  # 24564 MB is just short of 24GB
    assert choose_gpus(spec("16GB"), gpus, taken={1, 2}) == [4]
    assert choose_gpus(spec("RTX4090"), gpus, taken=()) == [4]
    assert choose_gpus(spec("NVIDIA GeForce RTX 4090"), gpus, taken=()) == [4]  # the driver's name works too
    assert choose_gpus(spec("A10G"), gpus, taken=()) is None
    assert choose_gpus(spec("6"), gpus, taken=()) is None


def test_a_replicas_gpus_are_all_of_one_model() -> None:
    gpus = parse_nvidia_smi(MIXED)
    # Two T4s (0, 3) rather than a T4 and an A100 (0, 1): GPUs of one replica work in step.
    assert choose_gpus(spec("2"), gpus, taken=()) == [0, 3]
    assert choose_gpus(spec("T4,A100:2"), gpus, taken={0}) == [1, 2]
    assert choose_gpus(spec("3"), gpus, taken=()) is None
    assert choose_gpus(spec("A10G,A100:2"), gpus, taken={2}) is None


def test_replicas_never_share_a_gpu() -> None:
    """Replicas of every shape, taking GPUs until none fits: no index is given twice, and what is
    given always matches what was asked for."""
    gpus = [*parse_nvidia_smi(MIXED), *(Gpu(index=index, name="NVIDIA A100-SXM4-80GB", memory_mb=81920)
                                        for index in range(5, 9))]
    shapes = ["A100", "T4:2", "2", "24GB", "A100:80GB:2", "1", "A10G,A100:3"]
    for order in itertools.islice(itertools.permutations(shapes), 0, None, 97):
        taken: set[int] = set()
        for shape in order * 3:
            chosen = choose_gpus(spec(shape), gpus, taken)
            if chosen is None:
                continue
            assert len(chosen) == spec(shape).count and chosen == sorted(chosen)
            assert not taken & set(chosen), f"{shape} got a taken GPU"
            assert all(gpus[index].matches(spec(shape)) for index in chosen)
            taken |= set(chosen)


def test_could_ever_fit_looks_past_what_is_taken() -> None:
    gpus = parse_nvidia_smi(DGX_A100)
    assert could_ever_fit(spec("A100:4"), gpus)
    assert choose_gpus(spec("A100:4"), gpus, taken={0}) is None
    assert not could_ever_fit(spec("A100:5"), gpus)
    assert not could_ever_fit(spec("H100"), gpus)
    assert not could_ever_fit(spec("A100:96GB"), gpus)
    assert could_ever_fit(spec("A10G,A100:80GB"), gpus)
    assert not could_ever_fit(spec("1"), ())
