"""A run without ../shared/data says loudly how many tests it skipped and why, so a green
run on a machine without the real data is never taken for a full one; CI refuses to run
without it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_run_without_the_real_data_counts_its_skips_loudly(tmp_path: Path) -> None:
    env = {**os.environ, "TONGJIAN_SHARED_DATA": str(tmp_path / "no-shared")}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests/test_malformed.py"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120).stdout
    assert "4 TESTS SKIPPED because the real data" in out, out
    assert "this run is NOT the full suite" in out
    assert f"    4  real test data not present: {tmp_path / 'no-shared'} is missing" in out


def test_ci_fails_without_the_real_data() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    check, _, rest = script.partition("exec ./run test")
    # (checked in the text first, so a missing check cannot start the whole suite here)
    assert rest and "exit 1" in check, "the shared-data check must come before the tests"
    probe = subprocess.run(["bash", str(ROOT / ".ci" / "run")], cwd=ROOT,
                           env={**os.environ, "TONGJIAN_SHARED_DATA": "/nonexistent"},
                           capture_output=True, text=True, timeout=30)
    assert probe.returncode != 0 and "../shared/data is missing" in probe.stderr
