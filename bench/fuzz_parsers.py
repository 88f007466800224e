"""Long fuzz run over every parser: ≥ 100,000 mutated real inputs by default.

Run:  .venv/bin/python bench/fuzz_parsers.py [--inputs 100000] [--seed 1] [--target NAME …]

The seeds, mutations and targets are the ones of `tests/test_fuzz.py` (real records from
../shared/data: ISO 2709 in UTF-8, MARC-8, GB18030 and CNMARC; MARCXML; OAI-PMH Dublin
Core; Koha and Symphony JSON envelopes built around real records), spread evenly over the
targets.  The property is the same: each input gives records or the project's RecordError
with a reason.  Printed per target: inputs, records, record errors, other exceptions
(bugs: each distinct one is printed with its traceback's last frame and a reproducer
seed), inputs per second; exit status 1 when there was any bug.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harvest.marc import RecordError  # noqa: E402
from tests.test_fuzz import TARGETS, fuzz_input  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=100_000, help="total inputs (all targets)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--target", action="append", choices=sorted(TARGETS),
                    help="only these targets (default: all)")
    args = ap.parse_args()
    names = args.target or list(TARGETS)
    for name in names:
        if not TARGETS[name][0]():
            print(f"no seeds for {name}: is ../shared/data beside the repo?", file=sys.stderr)
            return 2
    per = -(-args.inputs // len(names))
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"{'target':<18}{'inputs':>9}{'records':>10}{'rec.errors':>12}{'bugs':>7}"
          f"{'inputs/s':>10}")
    total = Counter[str]()
    bugs: dict[tuple[str, str, str], tuple[int, str]] = {}
    started = time.perf_counter()
    for t, name in enumerate(names):
        target = TARGETS[name][1]
        counts = Counter[str]()
        t0 = time.perf_counter()
        for i in range(per):
            case = args.seed * 1_000_003 + t * 10_000_019 + i
            data = fuzz_input(name, random.Random(case))  # noqa: S311 — reproducible inputs
            try:
                n = target(data)
            except RecordError:  # parse_raw returns 0 for these; a stray one is still fine
                counts["errors"] += 1
                continue
            except Exception as e:  # noqa: BLE001 — every other exception is the finding
                counts["bugs"] += 1
                frame = traceback.extract_tb(e.__traceback__)[-1]
                key = (name, type(e).__name__, f"{frame.filename}:{frame.lineno}")
                bugs.setdefault(key, (case, str(e)[:200]))
                continue
            if n:
                counts["records"] += n
            else:
                counts["errors"] += 1
        seconds = time.perf_counter() - t0
        counts["inputs"] = per
        total.update(counts)
        print(f"{name:<18}{per:>9,}{counts['records']:>10,}{counts['errors']:>12,}"
              f"{counts['bugs']:>7,}{per / seconds:>10,.0f}", flush=True)
    seconds = time.perf_counter() - started
    print(f"{'total':<18}{total['inputs']:>9,}{total['records']:>10,}{total['errors']:>12,}"
          f"{total['bugs']:>7,}{total['inputs'] / seconds:>10,.0f}   ({seconds:.0f} s)")
    print("records: records parsed (a file input can hold several); rec.errors: inputs "
          "refused with a RecordError or holding only bad records; bugs: any other exception")
    for (name, kind, where), (case, message) in sorted(bugs.items()):
        print(f"BUG {name}: {kind} at {where}: {message}  (reproduce: "
              f"fuzz_input({name!r}, random.Random({case})))")
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
