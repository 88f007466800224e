"""What each `tongjian` command does, over the library packages (the CLI only parses)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from aiohttp import web

from connectors.base import ConnectorError
from connectors.registry import open_connector  # the one place connectors are built
from core.config import Config, ConfigError, Source
from harvest.pipeline import HarvestStats, harvest_source, rebuild_index, update_index
from harvest.scheduler import Reindex, Scheduler
from harvest.store import RecordStore, open_store
from index import marker
from index.backend import SearchBackend, open_backend


def print_table(stats: Sequence[HarvestStats]) -> None:
    head = (f"{'source':<16} {'mode':<11} {'new':>7} {'updated':>8} {'deleted':>8} "
            f"{'quarant.':>8} {'errors':>6} {'time':>7}")
    print(head)
    print("-" * len(head))
    for s in stats:
        mode = s.mode if s.complete or s.errors else f"{s.mode}…"
        deleted = f"{s.deleted}+{s.held_deletions}?" if s.held_deletions else str(s.deleted)
        print(f"{s.source:<16} {mode:<11} {s.new:>7} {s.updated:>8} {deleted:>8} "
              f"{s.quarantined:>8} {len(s.errors):>6} {s.seconds:>6.1f}s")
    for s in stats:
        for e in s.errors:
            print(f"error: {e}", file=sys.stderr)
        if s.held_deletions:
            print(f"NEEDS CONFIRMATION: {s.source}: {s.notice}", file=sys.stderr)
        if s.quarantined:
            print(f"note: {s.source}: {s.quarantined} records quarantined with their reasons "
                  "(see the admin pages or the quarantine table)", file=sys.stderr)


def harvest_one(source: Source, store: RecordStore, full: bool = False,
                show_progress: bool = True, confirm_deletions: bool = False) -> HarvestStats:
    """One source, never raising: a source that cannot even be opened is a failed run."""
    try:
        connector = open_connector(source)
    except (ConfigError, ConnectorError, ValueError) as e:
        stats = HarvestStats(source.name, errors=[f"{source.name}: {e}"])
        run = store.start_harvest(source.name)
        store.finish_harvest(run, stats.as_counts(), stats.errors[0])
        return stats
    return harvest_source(source, connector, store, full=full, show_progress=show_progress,
                          confirm_deletions=confirm_deletions)


def current_index(store: RecordStore, backend: SearchBackend, config: Config) -> str:
    """Rebuild the index from the store when it was built by another release (or never):
    serving it would analyse queries one way and documents another.  Returns what was
    done ('' when the index is current)."""
    reason = marker.stale_reason(backend.path)
    if not reason:
        return ""
    print(f"index: rebuilding from the store — {reason}", file=sys.stderr, flush=True)
    return f"index rebuilt: {rebuild_index(store, backend, config)} entries ({reason})"


def refresh_index(store: RecordStore, config: Config, stats: Sequence[HarvestStats]) -> str:
    """Bring the index up to date after harvests: only what changed, or a full build when
    the index is new or from another release."""
    backend = open_backend(config)
    try:
        rebuilt = current_index(store, backend, config)
        if rebuilt:
            return rebuilt
        touched = set().union(*(s.touched for s in stats)) if stats else set()
        emptied = set().union(*(s.emptied for s in stats)) if stats else set()
        n = update_index(store, backend, config, touched, emptied)
        return f"index updated: {n} entries rewritten, {backend.count()} in all"
    finally:
        backend.close()


def harvest(config: Config, names: Sequence[str], reindex: bool = True,
            full: bool = False, confirm_deletions: bool = False) -> int:
    """Exit status 1 when a source failed or holds deletions that need confirming.
    `confirm_deletions` (named sources only): a full run that deletes whatever the source
    no longer returns, past the mass-deletion guard."""
    if confirm_deletions and not names:
        print("harvest: --confirm-deletions needs the source names it confirms",
              file=sys.stderr)
        return 2
    sources = [config.source(n) for n in names] if names else [
        s for s in config.sources if s.mode == "harvest"]
    with open_store(config) as store:
        stats = [harvest_one(source, store, full=full, confirm_deletions=confirm_deletions)
                 for source in sources]
        print_table(stats)
        if reindex:
            print(refresh_index(store, config, stats))
    return 1 if any(s.errors or s.held_deletions for s in stats) else 0


def quality(config: Config, as_json: bool = False) -> int:
    """The monthly data-quality run (审校) from the command line or cron."""
    import json

    from harvest.quality_report import compute

    with open_store(config) as store:
        snapshots = compute(store, config=config)
    if as_json:
        print(json.dumps({lib: {"month": s.month, "records": s.records, "counts": s.counts}
                          for lib, s in snapshots.items()}, ensure_ascii=False, indent=1))
        return 0
    for lib, snap in sorted(snapshots.items()):
        name = config.libraries[lib].name if lib in config.libraries else lib
        problems = ", ".join(f"{k} {v}" for k, v in sorted(snap.counts.items()) if v) or "none"
        print(f"{name} ({lib}), {snap.month}: {snap.records} records — {problems}")
    return 0


def rebuild_from_store(config: Config, store: RecordStore) -> int:
    """Re-merge and index everything in the store; returns the entries indexed."""
    backend = open_backend(config)
    try:
        return rebuild_index(store, backend, config)
    finally:
        backend.close()


def rebuild(config: Config) -> int:
    with open_store(config) as store:
        n = rebuild_from_store(config, store)
    print(f"index rebuilt from the store: {n} entries")
    return 0


def serve(config: Config, host: str | None = None, port: int | None = None,
          schedule: bool = True) -> int:
    """The portal; with `schedule`, every source with `schedule: N` is harvested every N
    minutes in the background and the index follows."""
    from portal.app import create_app
    from portal.core import on_worker

    store = open_store(config)
    backend = open_backend(config)
    try:
        current_index(store, backend, config)  # an upgrade's rebuild happens before serving
        app: web.Application | None = None

        async def reindex(stats: list[HarvestStats]) -> None:
            """Index updates on the portal's store-and-index thread, the one thread that
            may write the index while the portal reads it."""
            assert app is not None  # harvests start with the app, after create_app returned
            touched = set().union(*(s.touched for s in stats))
            emptied = set().union(*(s.emptied for s in stats))
            await on_worker(app, update_index, store, backend, config, touched, emptied)

        scheduler = harvest_scheduler(config, reindex) if schedule else None
        app = create_app(config, store, backend, scheduler=scheduler)
        host = host or config.portal.host
        port = port or config.portal.port
        print(f"portal: http://{host}:{port}/  (Ctrl-C to stop)", flush=True)
        web.run_app(app, host=host, port=port, print=None)
    finally:
        backend.close()
        store.close()
    return 0


def serve_workers(config: Config, host: str | None, port: int | None, workers: int,
                  schedule: bool = True) -> int:
    """The portal as `workers` processes (`tongjian.workers`): the index is brought up to
    date here first, once, so the workers never race to rebuild it."""
    from tongjian.workers import run_workers

    store = open_store(config)
    backend = open_backend(config)
    try:
        current_index(store, backend, config)
    finally:
        backend.close()
        store.close()
    return run_workers(config, host or config.portal.host, port or config.portal.port,
                       workers, schedule)


def harvest_scheduler(config: Config, reindex: Reindex) -> Scheduler:
    """Sources harvested on their schedules, each in a worker thread with its own store
    connection; `reindex` brings the index up to date after each run that changed entries."""

    def harvester(source: Source, own_store: RecordStore) -> HarvestStats:
        return harvest_one(source, own_store, show_progress=False)

    def confirmer(source: Source, own_store: RecordStore) -> HarvestStats:
        return harvest_one(source, own_store, show_progress=False, confirm_deletions=True)

    return Scheduler(config, harvester, reindex, confirmer=confirmer)


def demo(config: Config, port: int | None = None, serve_portal: bool = True) -> int:
    from tongjian.demo import run_demo

    return run_demo(config, port=port, serve_portal=serve_portal)
