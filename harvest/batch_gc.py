"""Garbage collection for batch work: the bulk import, the merge and their workers.

They allocate millions of short-lived dicts, lists and dataclasses, none of them in
cycles (reference counting frees them).  With Python's default thresholds, collections
over the large live structures (the matcher's records, a chunk's rows) took up to half of
a worker's time.  `batch_gc` collects the youngest generation every 100,000 net
allocations instead of every 700, and the older ones 5 and 10 times less often than
usual (50 and 100 instead of 10 and 10), so a full collection becomes rare.  Cycles are
still collected, only later: the 1M load of docs/benchmarks.md peaked about 6% higher
than before this and the other changes of that session.
"""

from __future__ import annotations

import gc

GC_THRESHOLD = (100_000, 50, 100)


def batch_gc() -> tuple[int, int, int]:
    """Switch this process to batch collection; returns the thresholds to restore."""
    old = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    return old
