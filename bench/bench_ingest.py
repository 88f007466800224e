"""Ingest benchmark: N generated records, end to end, against two floors, on this machine.

    python bench/bench_ingest.py                       # 1,000,000 records
    python bench/bench_ingest.py --records 100000      # a quick run
    python bench/bench_ingest.py --records 100000 --keep   # keep store + index for
                                                           # bench/bench_search.py

What it measures, each stage in its own subprocess so its peak memory is its own:

* pipeline: `harvest.bulk.import_sources` over the generator's three library files
  (parse → normalize → store → merge → index), records/s end to end and per stage;
* floor 1, pymarc: parsing the same files with pymarc alone (MARCReader, to_unicode),
  on as many processes as the pipeline uses;
* floor 2, tantivy: indexing the pipeline's own cluster documents, already built, into a
  fresh index (text analysis in as many worker processes, the writer in this one);
* the writer alone: the same documents analysed beforehand (untimed), then only tantivy's
  writer (`add_json`, commit) — what indexing costs with no Python analysis at all;
* the CPU seconds of floor 1 and of the writer alone beside the CPU a 2-core machine
  has for the goal (10,000 records/s is 100 s for 1M: 200 CPU seconds), which says
  whether the goal fits this machine whatever the pipeline between them does;
* the ratio of the pipeline's rate to the slower floor, peak RSS (main process and whole
  process tree), store and index size on disk, and how much CPU other processes took
  meanwhile (figures from a shared machine say so).

The generated files are cached under --data (generation is not part of any figure).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RECORDS_PER_EDITION = 1.3  # what the generator yields per edition slot (measured: 1.3005)
LIBRARIES = [
    {"code": "SXPL", "name": "陕西省图书馆", "region": "西安市", "level": "province"},
    {"code": "XYLIB", "name": "咸阳市图书馆", "region": "咸阳市", "level": "city"},
    {"code": "SMLIB", "name": "神木市图书馆", "region": "榆林市", "county": "神木市",
     "level": "county"},
]
# source name -> (library, file glob, record syntax, format, encoding)
SOURCES = {
    "sxpl": ("SXPL", "SXPL.*", "unimarc", "cnmarc", "auto"),
    "xylib": ("XYLIB", "XYLIB.*", "unimarc", "cnmarc", "gb18030"),
    "smlib": ("SMLIB", "SMLIB.*", "usmarc", "marc21", "auto"),
}


# -- the machine ----------------------------------------------------------------------


def describe() -> str:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    return (f"{os.cpu_count()} × {model or platform.processor()}, "
            f"{mem_kb / 1024 / 1024:.1f} GiB RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def busy_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the whole machine since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])
    return total - idle, total


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def hwm_kb(pid: int) -> int:
    """Peak resident set of one process so far (the kernel keeps it: VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeSampler:
    """Samples the summed RSS of a process and all its descendants until stopped.

    Each process's own peak is exact (VmHWM); the tree's peak is sampled, every
    `interval` seconds, which is plenty for stages that last many seconds.
    """

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid, self.interval = pid, interval
        self.peak_tree_kb = 0
        self.peak_main_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> TreeSampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            tree = _children()
            pids, todo = [], [self.pid]
            while todo:
                p = todo.pop()
                pids.append(p)
                todo.extend(tree.get(p, []))
            total = sum(rss_kb(p) for p in pids)
            self.peak_tree_kb = max(self.peak_tree_kb, total)
            self.peak_main_kb = max(self.peak_main_kb, hwm_kb(self.pid))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class ForeignLoad:
    """How much of the machine other processes used while we measured: the share of all
    CPU time not spent by us (this process and the children it has waited for)."""

    def __enter__(self) -> ForeignLoad:
        self.busy0, self.total0 = busy_jiffies()
        self.ours0 = _our_cpu()
        self.t0 = time.monotonic()
        self.load_before = os.getloadavg()[0]
        return self

    def __exit__(self, *exc: object) -> None:
        busy, total = busy_jiffies()
        hz = os.sysconf("SC_CLK_TCK")
        ours = (_our_cpu() - self.ours0) * hz
        span = max(total - self.total0, 1)
        self.share = max(0.0, (busy - self.busy0 - ours) / span)
        self.ours_share = ours / span
        self.load_after = os.getloadavg()[0]

    def exclude(self, cpu_seconds: float) -> None:
        """Count a process we started but have not reaped (a server) as ours."""
        busy, total = busy_jiffies()
        moved = cpu_seconds * os.sysconf("SC_CLK_TCK") / max(total - self.total0, 1)
        self.share = max(0.0, self.share - moved)
        self.ours_share += moved

    def line(self) -> str:
        return (f"our processes {100 * self.ours_share:.0f}% of the CPUs, others "
                f"{100 * self.share:.0f}% (load {self.load_before:.1f} → {self.load_after:.1f})")


def _our_cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


# -- setup ---------------------------------------------------------------------------------


def write_config(work: Path) -> Path:
    """A consortium of the generator's three libraries, one file source each."""
    import yaml

    sources = [{"name": name, "library": lib, "protocol": "z3950",
                "address": "127.0.0.1:1/Default", "record_syntax": syntax, "format": fmt,
                "encoding": enc} for name, (lib, _, syntax, fmt, enc) in SOURCES.items()]
    config = {"consortium": {"name": "bench"}, "libraries": LIBRARIES, "sources": sources,
              "index": {"path": "index"}, "store": {"path": "store.db"},
              "portal": {"host": "127.0.0.1", "port": 8765}}
    work.mkdir(parents=True, exist_ok=True)
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


def source_files(data: Path) -> dict[str, list[Path]]:
    return {name: sorted(data.glob(pattern)) for name, (_, pattern, *_) in SOURCES.items()}


def ensure_data(data: Path, records: int, processes: int) -> int:
    """Generate the files once (seeded, so the same N gives the same files)."""
    marker = data / "COUNT"
    if marker.exists():
        return int(marker.read_text())
    editions = math.ceil(records / RECORDS_PER_EDITION)
    print(f"generating ~{records:,} records ({editions:,} edition slots) into {data} …",
          file=sys.stderr, flush=True)
    out = subprocess.run(
        [sys.executable, "-m", "tongjian.generator", "--out", str(data), "--editions",
         str(editions), "--processes", str(processes)],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    count = sum(int(line.split("\t")[1]) for line in out.splitlines() if "\t" in line)
    marker.write_text(str(count))
    return count


def du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# -- phases (each runs in its own subprocess: `--phase NAME`) ------------------------------


def phase_ingest(work: Path, data: Path, processes: int) -> dict[str, Any]:
    from core.config import load
    from harvest.bulk import import_sources

    config = load(work / "config.yaml")
    stats = import_sources(config, source_files(data), processes=processes,
                           reindex="rebuild")
    print(stats.report(), file=sys.stderr, flush=True)
    return {"records": stats.records, "new": stats.new, "quarantined": stats.quarantined,
            "entries": stats.index_entries, "stages": stats.stages, "seconds": stats.seconds}


def _pymarc_chunk(task: Any) -> int:
    import io

    import pymarc

    with open(task.path, "rb") as f:
        f.seek(task.start)
        data = f.read(task.end - task.start)
    reader = pymarc.MARCReader(io.BytesIO(data), to_unicode=True, force_utf8=True,
                               utf8_handling="replace", permissive=True)
    return sum(1 for _ in reader)


def phase_pymarc(data: Path, processes: int) -> dict[str, Any]:
    """pymarc over the same byte ranges the pipeline's workers get (GB18030 text is read
    as UTF-8 with replacement: pymarc has no GB18030 support, and a floor may be lax)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from harvest.batch_gc import batch_gc
    from harvest.bulk import _SourceSpec, chunk_file

    tasks = []
    for name, files in source_files(data).items():
        spec = _SourceSpec(name, "", "auto", "auto", ())
        for path in files:
            tasks += chunk_file(spec, path)[1]
    t = time.monotonic()
    # The pipeline's workers collect garbage less often (`harvest.batch_gc`);
    # the floors get the same, or the ratio would flatter the pipeline.
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn"),
                             initializer=batch_gc) as pool:
        records = sum(pool.map(_pymarc_chunk, tasks))
    seconds = time.monotonic() - t
    return {"records": records, "seconds": seconds, "cpu_seconds": _cpu_seconds()}


def _cpu_seconds() -> float:
    """CPU seconds of this process (all its threads) and its reaped children."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _docs_range(bounds: tuple[str | None, str | None]) -> list[str]:
    from harvest import bulk
    from index.documents import cluster_document

    return [json.dumps(cluster_document(c, rs, bulk._LIBRARIES), ensure_ascii=False)
            for c, rs in bulk.clusters_in_range(bounds)]


def phase_docs(work: Path, processes: int) -> dict[str, Any]:
    """Untimed preparation of floor 2: every cluster document, one JSON per line."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from core.config import load
    from harvest import bulk
    from harvest.store import RecordStore

    config = load(work / "config.yaml")
    store = work / "store.db"
    with RecordStore.open_read_only(store) as reader:
        n = reader.record_count()
    docs = 0
    with (open(work / "documents.jsonl", "w", encoding="utf-8") as out,
          ProcessPoolExecutor(processes, mp_context=get_context("spawn"),
                              initializer=bulk._init_index_worker,
                              initargs=(str(store), dict(config.libraries))) as pool):
        for lines in pool.map(_docs_range, bulk.cluster_ranges(n)):
            docs += len(lines)
            out.writelines(line + "\n" for line in lines)
    return {"documents": docs}


def _init_floor_worker() -> None:
    """What `harvest.bulk._init_index_worker` does for the pipeline's workers, minus the
    store: the same garbage collection setting, jieba and OpenCC loaded before timing."""
    from harvest.batch_gc import batch_gc
    from index import text

    batch_gc()
    text.tokens("预热")
    text.pinyin_tokens("预热")


def _analyse_lines(task: tuple[str, int, int]) -> list[Any]:
    from index.tantivy_backend import analyse_document

    path, start, end = task
    with open(path, "rb") as f:
        f.seek(start)
        lines = f.read(end - start).decode("utf-8").splitlines()
    return [analyse_document(json.loads(line)) for line in lines if line]


def _line_ranges(path: Path, size: int = 4 << 20) -> list[tuple[str, int, int]]:
    total = path.stat().st_size
    out, start = [], 0
    with open(path, "rb") as f:
        while start < total:
            f.seek(min(start + size, total))
            f.readline()
            end = min(f.tell(), total) if start + size < total else total
            out.append((str(path), start, end))
            start = end
    return out


def phase_tantivy(work: Path, processes: int) -> dict[str, Any]:
    """Floor 2: the documents → a fresh index, analysis in workers, as the pipeline does."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from harvest.bulk import BULK_WRITER_HEAP, ordered_map
    from index import text
    from index.tantivy_backend import TantivyBackend

    target = work / "floor-index"
    shutil.rmtree(target, ignore_errors=True)
    text.tokens("预热")
    backend = TantivyBackend(target, writer_heap=BULK_WRITER_HEAP)
    docs = 0
    t = time.monotonic()
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn"),
                             initializer=_init_floor_worker) as pool:
        for analysed in ordered_map(pool, _analyse_lines, _line_ranges(work / "documents.jsonl"),
                                    window=2 * processes + 2):
            docs += backend.add_prepared(analysed, replace=False)
    backend.commit()
    backend.close()
    seconds = time.monotonic() - t
    # The same documents through `TantivyBackend.add` in one process (a sample): what
    # indexing costs without worker processes.
    sample = []
    with open(work / "documents.jsonl", encoding="utf-8") as f:
        for line in f:
            sample.append(json.loads(line))
            if len(sample) >= 20_000:
                break
    one = TantivyBackend(None, writer_heap=BULK_WRITER_HEAP)
    t1 = time.monotonic()
    one.add(sample)
    one.commit()
    single = len(sample) / (time.monotonic() - t1)
    one.close()
    shutil.rmtree(target, ignore_errors=True)
    return {"documents": docs, "seconds": seconds, "single_process_docs_per_s": single}


def phase_writer(work: Path, processes: int) -> dict[str, Any]:
    """The tantivy writer alone: documents analysed beforehand, untimed, then only
    `add_prepared` (tantivy parses the JSON and indexes) and the commit."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from harvest.bulk import BULK_WRITER_HEAP
    from index.tantivy_backend import TantivyBackend

    with ProcessPoolExecutor(processes, mp_context=get_context("spawn"),
                             initializer=_init_floor_worker) as pool:
        analysed = [a for part in pool.map(_analyse_lines,
                                           _line_ranges(work / "documents.jsonl"))
                    for a in part]
    target = work / "writer-index"
    shutil.rmtree(target, ignore_errors=True)
    backend = TantivyBackend(target, writer_heap=BULK_WRITER_HEAP)
    cpu, t = _cpu_seconds(), time.monotonic()
    docs = backend.add_prepared(analysed, replace=False)
    backend.commit()
    backend.close()
    seconds, cpu = time.monotonic() - t, _cpu_seconds() - cpu
    shutil.rmtree(target, ignore_errors=True)
    return {"documents": docs, "seconds": seconds, "cpu_seconds": cpu}


PHASES = {"ingest", "pymarc", "docs", "tantivy", "writer"}


def run_phase(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one phase in a subprocess; its result, CPU share of others, and peak memory."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", name,
           "--work", str(args.work), "--data", str(args.data),
           "--processes", str(args.processes)]
    with ForeignLoad() as load:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        sampler = TreeSampler(proc.pid).start()
        out, _ = proc.communicate()
        sampler.stop()
    if proc.returncode:
        raise SystemExit(f"phase {name} failed ({proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_main_mb"] = sampler.peak_main_kb / 1024
    result["peak_tree_mb"] = sampler.peak_tree_kb / 1024
    result["others_cpu"] = load.share
    result["load"] = load.line()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--data", type=Path, help="generated files (default: "
                        "/tmp/tongjian-bench/data-N, made when missing)")
    parser.add_argument("--work", type=Path, help="store and index (default: "
                        "/tmp/tongjian-bench/work-N, emptied first)")
    parser.add_argument("--skip-floors", action="store_true")
    parser.add_argument("--keep", action="store_true",
                        help="keep the store and index (for bench/bench_search.py)")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    base = Path(tempfile.gettempdir()) / "tongjian-bench"
    base.mkdir(parents=True, exist_ok=True)
    args.data = args.data or base / f"data-{args.records}"
    args.work = args.work or base / f"work-{args.records}"

    if args.phase:
        result = {"ingest": lambda: phase_ingest(args.work, args.data, args.processes),
                  "pymarc": lambda: phase_pymarc(args.data, args.processes),
                  "docs": lambda: phase_docs(args.work, args.processes),
                  "tantivy": lambda: phase_tantivy(args.work, args.processes),
                  "writer": lambda: phase_writer(args.work, args.processes)}[args.phase]()
        print(json.dumps(result))
        return 0

    command = "python bench/bench_ingest.py " + " ".join(
        a for a in (argv if argv is not None else sys.argv[1:]))
    print(f"# {command.strip()}")
    print(f"machine: {describe()}")
    print(f"free disk in {base}: {shutil.disk_usage(base).free / 1e9:.0f} GB")
    records = ensure_data(args.data, args.records, args.processes)
    print(f"data: {records:,} records, {du(args.data) / 1e6:,.0f} MB in {args.data}")
    shutil.rmtree(args.work, ignore_errors=True)
    write_config(args.work)

    ingest = run_phase("ingest", args)
    rate = ingest["records"] / ingest["seconds"]
    print(f"\npipeline (bulk import, {args.processes} processes): {ingest['records']:,} "
          f"records → {ingest['entries']:,} index entries in {ingest['seconds']:.1f} s = "
          f"{rate:,.0f} records/s  [{ingest['load']}]")
    for stage, seconds in ingest["stages"].items():
        print(f"  {stage:<14} {seconds:7.1f} s {ingest['records'] / seconds:>10,.0f} records/s")
    print(f"  peak RSS: main process {ingest['peak_main_mb']:,.0f} MB, with workers "
          f"{ingest['peak_tree_mb']:,.0f} MB")
    print(f"  on disk: store {du(args.work / 'store.db') / 1e6:,.0f} MB, "
          f"index {du(args.work / 'index') / 1e6:,.0f} MB")
    summary: dict[str, Any] = {"command": command.strip(), "machine": describe(),
                               "records": ingest["records"], "ingest": ingest,
                               "store_mb": du(args.work / "store.db") / 1e6,
                               "index_mb": du(args.work / "index") / 1e6}
    if not args.skip_floors:
        pm = run_phase("pymarc", args)
        pm_rate = pm["records"] / pm["seconds"]
        print(f"\nfloor 1, pymarc parse alone ({args.processes} processes): {pm['records']:,} "
              f"records in {pm['seconds']:.1f} s = {pm_rate:,.0f} records/s  [{pm['load']}]")
        run_phase("docs", args)
        tv = run_phase("tantivy", args)
        tv_rate = ingest["records"] / tv["seconds"]
        print(f"floor 2, tantivy indexing of pre-built documents alone ({args.processes} "
              f"analysis processes): {tv['documents']:,} documents in {tv['seconds']:.1f} s = "
              f"{tv['documents'] / tv['seconds']:,.0f} docs/s = {tv_rate:,.0f} records/s  "
              f"[{tv['load']}]")
        print(f"  (the same through TantivyBackend.add in one process: "
              f"{tv['single_process_docs_per_s']:,.0f} docs/s)")
        wr = run_phase("writer", args)
        print(f"the writer alone (documents analysed beforehand): {wr['documents']:,} "
              f"documents in {wr['seconds']:.1f} s, {wr['cpu_seconds']:.1f} CPU s  "
              f"[{wr['load']}]")
        budget = 2 * ingest["records"] / 10_000
        print(f"  CPU for 10,000 records/s on 2 cores: {budget:.0f} s; pymarc parse alone "
              f"{pm['cpu_seconds']:.0f} s + the writer alone {wr['cpu_seconds']:.0f} s = "
              f"{pm['cpu_seconds'] + wr['cpu_seconds']:.0f} s "
              f"({(pm['cpu_seconds'] + wr['cpu_seconds']) / budget:.0%} of it)")
        slower = min(pm_rate, tv_rate)
        print(f"\nratio: pipeline / slower floor = {rate:,.0f} / {slower:,.0f} = "
              f"{rate / slower:.2f}  (goal ≥ 0.5)")
        summary.update(pymarc=pm, tantivy=tv, writer=wr, ratio=rate / slower)
        (args.work / "documents.jsonl").unlink(missing_ok=True)
    print(f"goal ≥ 10,000 records/s end to end: {'met' if rate >= 10_000 else 'missed'} "
          f"({rate:,.0f})")
    (base / f"ingest-{args.records}.json").write_text(json.dumps(summary, indent=1))
    if not args.keep:
        shutil.rmtree(args.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
