"""Keep sources current while the portal runs: each source on its own schedule.

Every source with `schedule: N` (minutes) gets its own asyncio task, so a slow or failing
member never delays the others.  A failure is recorded in the store's harvest history (the
portal shows the source as failing) and retried with exponential backoff — soon at first,
then less and less often, never more rarely than the schedule allows — instead of hammering
a small county server that is down.  Harvests run in worker threads with their own SQLite
connection; the index is only touched through the `reindex` callback, which the portal runs
on the one thread that owns the index.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from core.config import Config, Source
from harvest.pipeline import HarvestStats
from harvest.store import RecordStore

log = logging.getLogger(__name__)

FIRST_RETRY = 60.0  # seconds after the first failure
MAX_RETRY = 6 * 3600.0

Harvester = Callable[[Source, RecordStore], HarvestStats]
Reindex = Callable[[list[HarvestStats]], Awaitable[None]]


def backoff(failures: int, schedule_seconds: float) -> float:
    """Delay before the next attempt after `failures` consecutive failures."""
    if failures <= 0:
        return schedule_seconds
    return float(min(FIRST_RETRY * 2 ** (failures - 1), max(schedule_seconds, MAX_RETRY)))


@dataclass
class SourceState:
    source: str
    failures: int = 0
    next_run: float = 0.0
    last_error: str = ""
    runs: int = 0
    paused: bool = False
    running: bool = False
    history: list[tuple[float, str]] = field(default_factory=list)  # (when, error or "ok")


class Scheduler:
    def __init__(self, config: Config, harvester: Harvester, reindex: Reindex,
                 workers: int = 2, confirmer: Harvester | None = None) -> None:
        self.config = config
        self.harvester = harvester
        # A full run that deletes past the mass-deletion guard (the admin's 确认删除).
        self.confirmer = confirmer
        self.reindex = reindex
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="harvest")
        self.states = {s.name: SourceState(s.name) for s in config.sources
                       if s.mode == "harvest" and s.schedule > 0}
        self._tasks: list[asyncio.Task[object]] = []
        self._wake: dict[str, asyncio.Event] = {}

    def start(self) -> None:
        for source in self.config.sources:
            if source.name in self.states:
                self._tasks.append(asyncio.create_task(self._loop(source),
                                                       name=f"harvest:{source.name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.pool.shutdown(wait=False, cancel_futures=True)

    def pause(self, name: str) -> None:
        """Stop scheduled harvests of a source (a harvest already running finishes)."""
        self._state(name).paused = True

    def resume(self, name: str) -> None:
        self._state(name).paused = False
        self.trigger(name)

    def trigger(self, name: str) -> None:
        """Harvest a source now instead of at its next scheduled time."""
        self._state(name)
        wake = self._wake.get(name)
        if wake is not None:
            wake.set()
        else:  # a source without a schedule: run it once, in the background
            source = self.config.source(name)
            self._tasks.append(asyncio.create_task(self.run_once(source),
                                                   name=f"harvest-now:{name}"))

    def confirm_deletions(self, name: str) -> bool:
        """Run the confirmed full harvest of a source now, in the background; False when
        this scheduler cannot (no confirmer) or the source is being harvested already."""
        state = self._state(name)
        if self.confirmer is None or state.running:
            return False
        source = self.config.source(name)
        self._tasks.append(asyncio.create_task(self.run_once(source, confirm=True),
                                               name=f"harvest-confirm:{name}"))
        return True

    def _state(self, name: str) -> SourceState:
        self.config.source(name)  # raises ConfigError for an unknown name
        return self.states.setdefault(name, SourceState(name))

    async def _loop(self, source: Source) -> None:
        state = self.states[source.name]
        wake = self._wake.setdefault(source.name, asyncio.Event())
        period = source.schedule * 60.0
        while True:
            if not state.paused:
                await self.run_once(source)
            delay = backoff(state.failures, period)
            state.next_run = time.time() + delay
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def run_once(self, source: Source, confirm: bool = False) -> HarvestStats:
        state = self.states.setdefault(source.name, SourceState(source.name))
        if state.running:  # a manual trigger while the scheduled run is under way
            return HarvestStats(source.name)
        state.running = True
        loop = asyncio.get_running_loop()
        try:
            stats = await loop.run_in_executor(self.pool, self._harvest, source, confirm)
        except Exception as e:  # noqa: BLE001 - a bug in one source must not stop the rest
            log.exception("harvest of %s crashed", source.name)
            stats = HarvestStats(source.name, errors=[f"{source.name}: {e}"])
        finally:
            state.running = False
        state.runs += 1
        if stats.errors:
            state.failures += 1
            state.last_error = stats.errors[0]
            log.warning("harvest of %s failed (%d in a row): %s", source.name,
                        state.failures, state.last_error)
        else:
            state.failures = 0
            state.last_error = ""
        state.history = ([(time.time(), state.last_error or "ok")] + state.history)[:20]
        if stats.touched or stats.emptied:
            await self.reindex([stats])
        return stats

    def _harvest(self, source: Source, confirm: bool = False) -> HarvestStats:
        harvester = self.confirmer if confirm and self.confirmer else self.harvester
        with RecordStore(self.config.resolve(self.config.store_path)) as store:
            return harvester(source, store)
