"""A faster ingest makes what the ingest made before (issue 20, item 1).

`bench/ingest_identity.py` imports the demo catalogue (4,439 records in six files: CNMARC
UTF-8 and GB18030, MARC 21 with 880s) and real records from ../shared/data (dp2's CNMARC,
Blacklight's MARC 21 with CJK, marc4j's broken and mangled files) with the bulk import,
two processes, and digests each stored row, each record's cluster and each entry's index
document (as JSON values).  The fixture holds those digests as the code of commit
744f5b0 made them (issue 12's ranking fields in, the speed-ups of issue 20 — cached folds,
orjson documents — not yet);
any change to a row, a cluster or an analysed term of any entry fails this test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "ingest_identity.json"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import ingest_identity
    finally:
        sys.path.remove(str(ROOT / "bench"))
    missing = [f for s in ingest_identity.SOURCES.values() for f in s[4] if not f.exists()]
    if missing:
        pytest.skip(f"data not present: {missing[0]}")
    found = ingest_identity.digests(tmp_path_factory.mktemp("identity"))
    return {part: {k: v[:20] for k, v in values.items()} for part, values in found.items()}


@pytest.fixture(scope="module")
def expected() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(FIXTURE.read_text())
    return data


@pytest.mark.parametrize("part", ["rows", "clusters", "documents"])
def test_the_ingest_makes_what_it_made_before(part: str, made: dict[str, dict[str, str]],
                                              expected: dict[str, dict[str, str]]) -> None:
    assert len(expected[part]) > 2000
    assert made[part].keys() == expected[part].keys()
    differ = sorted(k for k, v in made[part].items() if v != expected[part][k])
    assert not differ, f"{len(differ)} of {len(made[part])} {part} differ, e.g. {differ[:3]}"
