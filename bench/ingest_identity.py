"""Digests of what an ingest makes, to prove a faster ingest makes the same (issue 20).

The demo catalogue (six files, 4,439 records: CNMARC UTF-8 and GB18030, MARC 21 with 880
fields) and real records from ../shared/data (CNMARC from dp2, MARC 21 with CJK from
Blacklight, marc4j's broken and mangled files) go through `harvest.bulk.import_sources`
(two processes, small chunks) into a fresh store and index.  Per record, a SHA-256 of its
stored row (JSON, digest, ISBNs, match keys, work key, raw bytes) and of its cluster; per
entry, a SHA-256 of the index document `analyse_document` makes, compared as JSON values
(key order kept, the `summary_doc` bytes decoded): the writer parses the JSON, so two
encodings of the same values — `json`'s "a, b" or orjson's "a,b" — index the same.

    python bench/ingest_identity.py --write tests/fixtures/ingest_identity.json

wrote the fixture (digests cut to 20 hex digits) with the code of commit 744f5b0 — the
index documents with issue 12's ranking fields, before the speed-ups — run from a
`git archive` of that commit with this script copied in, writing into this tree;
`tests/test_ingest_identity.py` builds
the same digests with the code as it is and compares.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path.cwd()
sys.path.insert(0, str(ROOT))

DEMO = ROOT / "tongjian" / "demo_data"
SHARED = ROOT.parent / "shared" / "data"
LIBRARIES = [
    {"code": c, "name": c, "region": r, "level": lvl}
    for c, r, lvl in (("SXPL", "西安市", "province"), ("XYLIB", "咸阳市", "city"),
                      ("SMLIB", "榆林市", "county"), ("PROV", "西安市", "province"),
                      ("BJLIB", "宝鸡市", "city"), ("CWLIB", "咸阳市", "county"),
                      ("REAL", "西安市", "city"))
]
# source -> (library, format, encoding, record syntax, files)
SOURCES: dict[str, tuple[str, str, str, str, list[Path]]] = {
    "sxpl": ("SXPL", "cnmarc", "auto", "unimarc", [DEMO / "SXPL.cnmarc.utf8.iso"]),
    "xylib": ("XYLIB", "cnmarc", "gb18030", "unimarc", [DEMO / "XYLIB.cnmarc.gb18030.iso"]),
    "smlib": ("SMLIB", "marc21", "auto", "usmarc", [DEMO / "SMLIB.marc21.utf8.mrc"]),
    "prov": ("PROV", "cnmarc", "auto", "unimarc", [DEMO / "PROV.cnmarc.utf8.iso"]),
    "bjlib": ("BJLIB", "marc21", "auto", "usmarc", [DEMO / "BJLIB.marc21.utf8.mrc"]),
    "cwlib": ("CWLIB", "cnmarc", "gb18030", "unimarc", [DEMO / "CWLIB.cnmarc.gb18030.iso"]),
    "real_cn": ("REAL", "cnmarc", "auto", "unimarc",
                [SHARED / "derived/dp2_cnmarc_10recs.utf8.iso"]),
    "real_m21": ("REAL", "marc21", "auto", "usmarc",
                 [SHARED / "marc21_cjk/blacklight/test_data.utf8.mrc",
                  SHARED / "marc21_cjk/marc4j/pride-and-prejudice-with-many-errors.mrc",
                  SHARED / "marc21_cjk/marc4j/chinese_mangled_multibyte.mrc"]),
}


def _sha(value: Any) -> str:
    data = value if isinstance(value, bytes) else json.dumps(
        value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


# Fields added to the index documents after the fixture was written, each derived from a
# field the fixture pins (so pinning that one pins them): index format 5's syllable pairs,
# made from the same syllables as title_pinyin and author_pinyin (tests/test_index.py
# checks that derivation).
DERIVED_SINCE = ("title_pinyin_pairs", "author_pinyin_pairs")


def document_value(analysed_json: str) -> Any:
    """An analysed document as the JSON value the writer reads, its summary decoded, the
    fields added since the fixture (`DERIVED_SINCE`) left out."""
    doc = json.loads(analysed_json)
    for name in DERIVED_SINCE:
        doc.pop(name, None)
    doc["summary_doc"] = json.loads(base64.b64decode(doc["summary_doc"]))
    return doc


def digests(work: Path) -> dict[str, dict[str, str]]:
    """{"rows": {key: sha}, "clusters": {key: sha of its cluster id},
    "documents": {cluster: sha}} of an import of every file of `SOURCES` into `work`."""
    from core.config import parse
    from harvest.bulk import import_sources
    from harvest.store import RecordStore
    from index.documents import cluster_document
    from index.tantivy_backend import analyse_document

    sources = [{"name": name, "library": lib, "protocol": "z3950", "address": "x:1/D",
                "record_syntax": syntax, "format": fmt, "encoding": enc}
               for name, (lib, fmt, enc, syntax, _) in SOURCES.items()]
    config = parse({"libraries": LIBRARIES, "sources": sources,
                    "index": {"path": str(work / "index")},
                    "store": {"path": str(work / "store.db")}}, work / "config.yaml")
    import_sources(config, {name: s[4] for name, s in SOURCES.items()}, processes=2,
                   chunk_bytes=200_000, show_progress=False, reindex="rebuild")
    store = RecordStore(work / "store.db")
    try:
        rows: dict[str, str] = {}
        clusters: dict[str, str] = {}
        for key, data, digest, isbn, match, work_key, raw, cluster in store._db.execute(
                "SELECT key, data, digest, isbn, match, work, raw, cluster FROM records"):
            rows[key] = _sha([data, digest, isbn, match, work_key,
                              hashlib.sha256(raw).hexdigest()])
            clusters[key] = _sha(cluster)
        documents = {cluster: _sha(document_value(analyse_document(
            cluster_document(cluster, group, config.libraries)).json))
            for cluster, group in store.clusters()}
    finally:
        store.close()
    return {"rows": rows, "clusters": clusters, "documents": documents}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", type=Path, help="write the digests here (the fixture)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        found = digests(Path(tmp))
    print({name: len(values) for name, values in found.items()})
    if args.write:
        short = {part: {k: v[:20] for k, v in values.items()} for part, values in found.items()}
        args.write.write_text(json.dumps(short, indent=0, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
