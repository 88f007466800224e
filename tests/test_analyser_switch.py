"""The switch from jieba to rjieba (jieba-rs) changes no index document (issue 20).

Every record of four demo libraries' files (~3,500, CNMARC and MARC 21) becomes an entry
document and is analysed twice: with `index.text` as it ships (rjieba), and with the same
module cutting through Python jieba (still installed: the generator uses it).  The two
must be identical, term for term — the same dictionary, precise and search modes, HMM off.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harvest.crosswalk import to_record
from harvest.readers import read
from index import tantivy_backend, text
from index.documents import cluster_document

DEMO = Path(__file__).resolve().parents[1] / "tongjian" / "demo_data"
FILES = ("SXPL.cnmarc.utf8.iso", "XYLIB.cnmarc.gb18030.iso", "SMLIB.marc21.utf8.mrc",
         "PROV.cnmarc.utf8.iso")


class PythonJieba:
    """rjieba's interface over Python jieba: the analyser before the switch."""

    def __init__(self) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        self._jieba = jieba

    def cut(self, text: str, hmm: bool = True) -> list[str]:
        return list(self._jieba.cut(text, HMM=hmm))

    def cut_for_search(self, text: str, hmm: bool = True) -> list[str]:
        return list(self._jieba.cut_for_search(text, HMM=hmm))

    def tokenize(self, text: str, mode: str = "default",
                 hmm: bool = True) -> list[tuple[str, int, int]]:
        return list(self._jieba.tokenize(text, mode=mode, HMM=hmm))


def _records() -> Iterator[Any]:
    for name in FILES:
        flavour = "marc21" if "marc21" in name else "cnmarc"
        for parsed in read((DEMO / name).read_bytes(), "auto", flavour):
            if parsed.marc is not None:
                yield to_record(parsed.marc, source=name, library=name.split(".")[0],
                                record_id=f"#{parsed.position}", flavour=flavour)


def _forget() -> None:
    """Empty every cache of analysed text, so the next analysis cuts afresh."""
    for module in (text, tantivy_backend):
        for value in vars(module).values():
            if hasattr(value, "cache_clear"):
                value.cache_clear()


def _analysed(records: list[Any]) -> list[tuple[str, str, list[Any]]]:
    _forget()
    out = []
    for i, r in enumerate(records):
        doc = cluster_document(f"c{i}", [r], {})
        queries = [text.query_words(q) for q in (r.title, *(a.name for a in r.authors))]
        out.append((tantivy_backend.analyse_document(doc).json, text.tokens(r.summary or ""),
                    queries))
    return out


@pytest.mark.skipif(not DEMO.exists(), reason="demo data not present")
def test_rjieba_gives_the_same_documents_as_jieba(monkeypatch: pytest.MonkeyPatch) -> None:
    records = list(_records())
    assert len(records) > 3000
    shipped = _analysed(records)
    monkeypatch.setattr(text, "_jieba", PythonJieba())
    before = _analysed(records)
    monkeypatch.undo()
    _forget()
    differ = [(r.title, a[0], b[0]) for r, a, b in zip(records, shipped, before, strict=True)
              if a != b]
    assert not differ, f"{len(differ)} of {len(records)} documents differ, e.g. {differ[:1]}"
