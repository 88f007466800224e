"""Mutation testing of one core module, on demand (not in CI): how many small deliberate
bugs (a flipped comparison, a changed constant, a dropped branch) its tests catch.

    .venv/bin/python bench/mutation.py harvest/isbn.py            # one module, minutes
    .venv/bin/python bench/mutation.py --list                      # the modules and their tests
    .venv/bin/python bench/mutation.py harvest/isbn.py --survivors # and the diff of each survivor
    .venv/bin/python bench/mutation.py harvest/isbn.py --mutants 'harvest.isbn.x_to_isbn13*'
                                                       # only these mutants (mutmut globs)

The tool is mutmut (`[tool.mutmut]` in pyproject.toml holds what every run shares).  mutmut
reads its configuration from the working directory only, so each run works in a copy of
the tree (`git ls-files`) under ``var/mutation/<module>/`` whose pyproject.toml names the
one module to mutate and the tests that pin it (`MODULES` below); the repository itself is
never modified.  Runs are CPU-heavy: they go under ``nice -n 10``, one module at a time.
Scores and the survivors that remain, with why each is harmless, are in docs/testing.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TONGJIAN_SHARED_DATA") or ROOT.parent / "shared" / "data")

# module → the test files that pin its behaviour (fast ones: each mutant reruns them)
MODULES: dict[str, list[str]] = {
    "harvest/isbn.py": ["tests/test_isbn.py", "tests/test_crosswalk.py"],
    "harvest/iso2709.py": ["tests/test_iso2709.py", "tests/test_malformed.py"],
    "harvest/marc.py": ["tests/test_marc_decode.py", "tests/test_malformed.py",
                        "tests/test_marc8.py", "tests/test_encodings_lie.py"],
    "harvest/crosswalk/cnmarc.py": ["tests/test_crosswalk_tables.py",
                                    "tests/test_crosswalk.py"],
    "harvest/crosswalk/marc21.py": ["tests/test_crosswalk_tables.py",
                                    "tests/test_crosswalk.py"],
    "harvest/crosswalk/holdings.py": ["tests/test_crosswalk_tables.py",
                                      "tests/test_crosswalk.py"],
    "harvest/crosswalk/common.py": ["tests/test_crosswalk_tables.py",
                                    "tests/test_crosswalk.py"],
    "harvest/crosswalk/dublin_core.py": ["tests/test_dublin_core.py",
                                         "tests/test_crosswalk_tables.py"],
    "harvest/crosswalk/__init__.py": ["tests/test_crosswalk_entry.py",
                                      "tests/test_crosswalk_tables.py"],
    "harvest/crosswalk/koha.py": ["tests/test_crosswalk_tables.py", "tests/test_koha.py"],
    "harvest/crosswalk/symphony.py": ["tests/test_crosswalk_tables.py",
                                      "tests/test_symphony.py"],
    # (test_availability.py pins it too, against live peers, but costs 2.5 s a mutant)
    "core/status.py": ["tests/test_status_vocabulary.py"],
    "harvest/matching/keys.py": ["tests/test_matching.py", "tests/test_matching_tables.py"],
    "harvest/matching/normalize.py": ["tests/test_matching.py",
                                      "tests/test_matching_tables.py"],
    "harvest/matching/rules.py": ["tests/test_matching.py", "tests/test_matching_tables.py"],
    "harvest/matching/relations.py": ["tests/test_matching_relations.py",
                                      "tests/test_matching_tables.py"],
    "index/text.py": ["tests/test_text_tables.py", "tests/test_reader_input.py"],
    "harvest/matching/editions.py": ["tests/test_matching.py",
                                     "tests/test_matching_tables.py"],
    # The three below: the tables alone.  test_matching.py exercises them too, but two of its
    # tests (the sharded run, the evaluation set) take 40 s, rerun for every mutant.
    "harvest/matching/unionfind.py": ["tests/test_matching_clusters.py",
                                      "tests/test_matching_tables.py"],
    "harvest/matching/blocking.py": ["tests/test_matching_clusters.py",
                                     "tests/test_matching_tables.py"],
    "harvest/matching/clustering.py": ["tests/test_matching_clusters.py",
                                       "tests/test_matching_tables.py"],
}

def _copy_tree(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout.splitlines()
    if dest.exists():
        shutil.rmtree(dest)
    for name in files:
        if name.startswith(("deploy/", "docs/")):
            continue
        src = ROOT / name
        if not src.is_file():
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


def _write_config(dest: Path, module: str, tests: list[str]) -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    shared = tomllib.loads(text).get("tool", {}).get("mutmut", {})
    top = module.split("/", 1)[0]
    others = [p for p in ("core", "connectors", "harvest", "index", "portal", "tongjian",
                          "peers", "tests", "bench") if p != top]
    config = {**shared, "source_paths": [top], "only_mutate": [module],
              "also_copy": [*others, "config.yaml"],
              "pytest_add_cli_args_test_selection": tests}
    lines = ["[tool.mutmut]"] + [f"{k} = {json.dumps(v)}" for k, v in config.items()]
    # keep everything but the shared [tool.mutmut] table; append the run's own
    body = text.split("[tool.mutmut]")[0]
    (dest / "pyproject.toml").write_text(body + "\n".join(lines) + "\n", encoding="utf-8")


def _scores(work: Path, module: str) -> tuple[dict[str, int], list[str]]:
    from mutmut.stats import status_by_exit_code

    meta = work / "mutants" / (module + ".meta")
    data = json.loads(meta.read_text(encoding="utf-8"))
    counts: dict[str, int] = {}
    survivors = []
    for name, code in data.get("exit_code_by_key", {}).items():
        status = status_by_exit_code[code]
        counts[status] = counts.get(status, 0) + 1
        if status in ("survived", "no tests"):
            survivors.append(name)
    return counts, survivors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("module", nargs="?", help="e.g. harvest/isbn.py")
    parser.add_argument("--list", action="store_true", help="the modules and their tests")
    parser.add_argument("--survivors", action="store_true",
                        help="print the diff of every surviving mutant")
    parser.add_argument("--max-children", type=int, default=1)
    parser.add_argument("--mutants", nargs="+", default=[], metavar="GLOB",
                        help="only these mutants (names or globs, as `mutmut run` takes "
                             "them); the score is then over the mutants checked")
    args = parser.parse_args()
    if args.list or not args.module:
        for module, tests in MODULES.items():
            print(f"{module:36} {' '.join(tests)}")
        return 0
    if args.module not in MODULES:
        parser.error(f"{args.module}: not one of the configured modules (--list)")
    tests = [t for t in MODULES[args.module] if (ROOT / t).exists()]
    work = ROOT / "var" / "mutation" / args.module.replace("/", "_").removesuffix(".py")
    _copy_tree(work)
    _write_config(work, args.module, tests)
    env = {**os.environ, "TONGJIAN_SHARED_DATA": str(SHARED_DATA)}
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    started = time.monotonic()
    run = subprocess.run(["nice", "-n", "10", mutmut, "run", "--max-children",
                          str(args.max_children), *args.mutants], cwd=work, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.monotonic() - started
    if not (work / "mutants" / (args.module + ".meta")).exists():
        print(run.stderr[-3000:], file=sys.stderr)
        return 1
    counts, survivors = _scores(work, args.module)
    # a run given --mutants (or stopped) leaves the others unchecked: not in the score
    total = sum(n for status, n in counts.items() if status != "not checked")
    killed = counts.get("killed", 0) + counts.get("timeout", 0) + counts.get("segfault", 0)
    score = killed / total if total else 0.0
    print(f"{args.module}: {killed}/{total} mutants killed ({score:.0%}) in {elapsed:.0f} s; "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"tests: {' '.join(tests)}")
    print(f"command: .venv/bin/python bench/mutation.py {args.module}")
    for name in survivors:
        print(f"  survived: {name}")
        if args.survivors:
            diff = subprocess.run([mutmut, "show", name], cwd=work, env=env,
                                  capture_output=True, text=True).stdout
            print("    " + diff.replace("\n", "\n    "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
