"""The watcher's sleep that a termination cuts short."""

from __future__ import annotations

import asyncio

from activities.replicas import Wakeup


async def test_sleep_runs_its_time_when_nobody_wakes_it() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await Wakeup().sleep(0.05) is False
    assert loop.time() - started >= 0.05


async def test_a_wakeup_during_the_sleep_ends_it_at_once() -> None:
    wakeup = Wakeup()
    loop = asyncio.get_running_loop()
    started = loop.time()
    sleeping = asyncio.create_task(wakeup.sleep(30))
    await asyncio.sleep(0)
    wakeup.set()
    assert await sleeping is True
    assert loop.time() - started < 1


async def test_a_wakeup_before_the_sleep_is_kept_for_it_once() -> None:
    wakeup = Wakeup()
    wakeup.set()
    assert await wakeup.sleep(30) is True
    assert await wakeup.sleep(0.01) is False


async def test_a_sleep_cut_short_leaves_no_timer_behind() -> None:
    wakeup = Wakeup()
    sleeping = asyncio.create_task(wakeup.sleep(30))
    await asyncio.sleep(0)
    wakeup.set()
    await sleeping
    assert await wakeup.sleep(0.01) is False  # the first sleep's timer can't resolve this one
