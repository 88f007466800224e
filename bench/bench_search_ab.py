"""The changed steps of a search, old and new code in one process, request by request.

    python bench/bench_search_ab.py --work /tmp/tongjian-bench/work-100000 \\
        --old /path/to/old/checkout

On a shared machine two runs minutes apart differ by more than a change's effect; this
times only the steps issue 20 changed — the count-and-facet pass (`_facets`) and the
result lines (`hit_json`) — for every request of `bench_search.py`'s mix, the old code's
(loaded from `--old`, a checkout of the version before) and the new code's alternately on
the same query, and checks that both give the same answer.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_search import query_mix  # noqa: E402


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--old", type=Path, required=True, help="the old version's tree")
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args(argv)

    from core.config import load as load_config
    from index.nearby import class_below
    from index.tantivy_backend import TantivyBackend
    from portal.query import hit_json, parse_params

    old_backend = _load("old_tantivy_backend", args.old / "index" / "tantivy_backend.py")
    old_query = _load("old_query", args.old / "portal" / "query.py")
    config = load_config(args.work / "config.yaml")
    backend = TantivyBackend(config.resolve(config.index.path), cache_entries=0)
    mix = query_mix(args.work / "store.db", n=args.requests)
    spent = {"old facets": 0.0, "new facets": 0.0, "old lines": 0.0, "new lines": 0.0}
    for i, (_, params) in enumerate(mix):
        req = parse_params([(k, str(v)) for k, v in params.items()])
        searcher, _ = backend._searcher()
        filters = backend._filters(req.filters)
        below = class_below(req.filters)
        for query in backend._queries(req, searcher):
            full = backend._with_filters(query, filters)
            runs = [("old", old_backend.TantivyBackend._facets), ("new", backend._facets)]
            answers = {}
            for which, facets in (runs if i % 2 else runs[::-1]):
                t = time.thread_time()
                answers[which] = facets(backend, searcher, full, below) if which == "old" \
                    else facets(searcher, full, below)
                spent[f"{which} facets"] += time.thread_time() - t
            if answers["old"] != answers["new"]:
                raise SystemExit(f"facets differ for {params}")
            if answers["new"][0]:
                break
        hits = backend.search(req).hits
        lines = {}
        for which, fn in ((("old", old_query.hit_json), ("new", hit_json)) if i % 2 else
                          (("new", hit_json), ("old", old_query.hit_json))):
            t = time.thread_time()
            lines[which] = [fn(h, config.libraries) for h in hits]
            spent[f"{which} lines"] += time.thread_time() - t
        if lines["old"] != lines["new"]:
            raise SystemExit(f"result lines differ for {params}")
    n = len(mix)
    print(f"# python bench/bench_search_ab.py {' '.join(argv or sys.argv[1:])}")
    print(f"{n:,} requests of the mix, same answers from both versions; CPU per request:")
    for step in ("facets", "lines"):
        old, new = spent[f"old {step}"] / n * 1000, spent[f"new {step}"] / n * 1000
        print(f"  {step:<7} old {old:.3f} ms  new {new:.3f} ms  ({new - old:+.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
