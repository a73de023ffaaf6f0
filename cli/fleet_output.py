"""How the CLI shows fleets: one row per fleet, then one per instance (as `dstack fleet` does)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table

from api.fleet_schemas import Fleet, Instance, InstanceResources
from cli.output import format_cost
from core.statuses import FleetStatus
from core.units import format_memory


def fleets_table(fleets: Iterable[Fleet]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("FLEET", "INSTANCE", "BACKEND", "RESOURCES", "PRICE", "STATUS", "JOBS"):
        table.add_column(column, no_wrap=column not in ("STATUS", "JOBS"))
    for fleet in fleets:
        table.add_row(fleet.name, "", "", "", "", fleet_status_text(fleet), "")
        for instance in fleet.instances:
            table.add_row("", f"  {instance_label(instance)}", instance.backend, resources_text(instance),
                          format_cost(instance.price), instance.status.value, jobs_text(instance))
    return table


def fleet_status_text(fleet: Fleet) -> str:
    return f"{fleet.status.value} ({fleet.status_message})" if fleet.status_message else fleet.status.value


def instance_label(instance: Instance) -> str:
    """`0 (10.0.0.2)` in an SSH fleet; the host's id in a fleet of workers."""
    if instance.instance_num is not None:
        return f"{instance.instance_num} ({instance.name})"
    return instance.id


def resources_text(instance: Instance) -> str:
    total = _resources(instance.resources)
    if not total:
        return ""  # not known before its worker joins
    free = _resources(instance.free) or "none"
    return total if instance.free == instance.resources else f"{total} (free: {free})"


def _resources(resources: InstanceResources) -> str:
    if resources.cpus == 0 and resources.memory_mb == 0 and not resources.gpus:
        return ""
    parts = [f"{resources.cpus:g} CPU", format_memory(resources.memory_mb)]
    names: dict[str, int] = {}
    for gpu in resources.gpus:
        names[gpu.name] = names.get(gpu.name, 0) + 1
    parts += [f"{count}x{name}" for name, count in names.items()]
    return ", ".join(parts)


def jobs_text(instance: Instance) -> str:
    return ", ".join(f"{job.run_name}/{job.replica_num if job.replica_num is not None else '?'}"
                     for job in instance.jobs)


def is_settled(fleet: Fleet) -> bool:
    """Whether the fleet's workflow is done with what `apply` asked (every host set up or refused)."""
    return fleet.status is not FleetStatus.SUBMITTED
