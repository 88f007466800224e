"""Incremental harvest benchmark: 10,000 changed records into a kept store of N records.

    python bench/bench_ingest.py --records 1000000 --skip-floors --keep   # the store
    python bench/bench_incremental.py --work /tmp/tongjian-bench/work-1000000 \
        --data /tmp/tongjian-bench/data-1000000

What a daily harvest brings: a member library changed 10,000 of its records (here: the
first 10,000 of the provincial library's file, each with a new summary, 330$a).  They go
in as an incremental import of that source (`tongjian import sxpl FILE --no-full`: no
deletions, index updated in place, not rebuilt), which runs the same `update_index` as an
OAI-PMH or Z39.50 harvest.  Printed: the seconds of each stage, the end-to-end time, peak
RSS of the whole process tree, and what other processes took of the CPUs meanwhile — so
the same command at 1M, 3M and 10M shows which stages grow with the store rather than
with the 10,000 records.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import ForeignLoad, TreeSampler, describe  # noqa: E402


def changed_records(source: Path, out: Path, n: int, stamp: str) -> int:
    """The first `n` records of `source` (CNMARC, UTF-8), each with a new 330$a."""
    import pymarc

    written = 0
    with open(source, "rb") as f, open(out, "wb") as w:
        for record in pymarc.MARCReader(f, to_unicode=True, force_utf8=True):
            if record is None:
                continue
            record.force_utf8 = True
            for old in record.get_fields("330"):
                record.remove_field(old)
            record.add_ordered_field(pymarc.Field(
                tag="330", indicators=[" ", " "],
                subfields=[pymarc.Subfield("a", f"修订本提要 {stamp} 第{written}条")]))
            w.write(record.as_marc())
            written += 1
            if written >= n:
                break
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--work", type=Path, required=True, help="bench_ingest --keep folder")
    parser.add_argument("--data", type=Path, required=True, help="its generated files")
    parser.add_argument("--changed", type=int, default=10_000)
    args = parser.parse_args(argv)
    print("# python bench/bench_incremental.py " + " ".join(argv or sys.argv[1:]))
    print(f"machine: {describe()}")
    source = next(args.data.glob("SXPL.*"))
    changed = args.work / "changed.iso"
    n = changed_records(source, changed, args.changed, time.strftime("%H%M%S"))
    cmd = [sys.executable, "-m", "tongjian.cli", "--config", str(args.work / "config.yaml"),
           "import", "sxpl", str(changed), "--no-full"]
    with ForeignLoad() as load:
        t = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        sampler = TreeSampler(proc.pid).start()
        out, _ = proc.communicate()
        sampler.stop()
        seconds = time.monotonic() - t
    changed.unlink(missing_ok=True)
    if proc.returncode:
        raise SystemExit(f"import failed ({proc.returncode})")
    print(out.strip())
    print(f"incremental import of {n:,} changed records: {seconds:.1f} s end to end, peak RSS "
          f"{sampler.peak_tree_kb / 1024:,.0f} MB (process tree)  [{load.line()}]")
    print(json.dumps({"changed": n, "seconds": seconds,
                      "peak_tree_mb": sampler.peak_tree_kb / 1024, "report": out.strip()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
