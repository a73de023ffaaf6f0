"""Hosts joined straight into a database, for store-level tests: no worker behind them."""

from __future__ import annotations

from store.database import Database
from store.hosts import HostRegistration, HostStore


async def join_host(database: Database, host_id: str, *, cpu_milli: int = 4000, memory_mb: int = 8192,
                    price_per_hour: float = 1.0, fleet: str = "local",
                    gpus: list[dict[str, object]] | None = None) -> None:
    await HostStore(database).join(HostRegistration(
        host_id=host_id, name=host_id, backend_type="local", task_queue=f"q-{host_id}", cpu_milli=cpu_milli,
        memory_mb=memory_mb, price_per_hour=price_per_hour, gpus=gpus or [], fleet=fleet))
