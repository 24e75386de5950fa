"""Wake-ups wake one waiter each, and one given while nobody waits is kept for the next wait:
a worker's idle slots do not all race for the job one NOTIFY announced, and none is lost."""

from __future__ import annotations

import anyio

from pravah.db.wakeup import Wakeup


def test_one_wake_up_wakes_one_waiter() -> None:
    async def go() -> list[str]:
        wake, woken = Wakeup("sqlite+aiosqlite://", "c"), []

        async def slot(name: str) -> None:
            await wake.wait(5)
            woken.append(name)

        async with anyio.create_task_group() as tg:
            tg.start_soon(slot, "a")
            tg.start_soon(slot, "b")
            await anyio.sleep(0.05)
            wake.wake()
            await anyio.sleep(0.05)
            assert woken == ["a"]  # the longest waiting; "b" still waits
            wake.wake()
        return woken

    assert anyio.run(go) == ["a", "b"]


def test_a_wake_up_with_nobody_waiting_is_kept_for_the_next_wait() -> None:
    async def go() -> tuple[float, float]:
        wake = Wakeup("sqlite+aiosqlite://", "c")
        wake.wake()
        wake.wake()  # still one: it says there is work, not how much
        t = anyio.current_time()
        await wake.wait(5)
        kept = anyio.current_time() - t
        t = anyio.current_time()
        await wake.wait(0.1)
        return kept, anyio.current_time() - t

    kept, then = anyio.run(go)
    assert kept < 0.05 and then >= 0.1


def test_a_timed_out_waiter_is_owed_nothing() -> None:
    async def go() -> float:
        wake = Wakeup("sqlite+aiosqlite://", "c")
        await wake.wait(0.01)
        wake.wake()  # nobody waits now: kept, not given to the waiter that timed out
        t = anyio.current_time()
        await wake.wait(5)
        return anyio.current_time() - t

    assert anyio.run(go) < 0.05
