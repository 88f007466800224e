"""`tongjian source test NAME`: a handful of records through the real pipeline, shown
normalized beside the raw record, with what did not map flagged.

This is the check a connector admin runs after pasting a probe's config block: same
connector, same decoding, same crosswalk and holdings maps as a harvest — so a holdings
tag that is wrong, an encoding that is wrong, or fields the crosswalk ignores show up
before a single record reaches the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import islice

from connectors.base import HarvestConnector, RawRecord
from connectors.registry import open_connector
from core.config import Source
from core.model import Record
from harvest.crosswalk import DEFAULT_HOLDINGS, from_raw
from harvest.crosswalk.cnmarc import MAPPED_TAGS as CNMARC_TAGS
from harvest.crosswalk.marc21 import MAPPED_TAGS as MARC21_TAGS
from harvest.marc import Marc, RecordError
from harvest.readers import read_one

# Tags no crosswalk needs: record control, cataloguing agency, local system data.
IGNORED_TAGS = {"001", "003", "005", "008", "035", "040", "049", "090", "100", "801", "998",
                "999", "AVA", "OWN"}


@dataclass
class Sample:
    position: int
    raw_text: str
    record: Record | None = None
    error: str = ""
    flags: list[str] = field(default_factory=list)


def marc_lines(marc: Marc) -> str:
    """The record as cataloguers read it: one line per field, $-prefixed subfields."""
    lines = [f"LDR {marc.leader}"]
    for f in marc.fields:
        if f.value is not None:
            lines.append(f"{f.tag}    {f.value}")
        else:
            subs = "".join(f"${c}{v}" for c, v in f.subfields)
            lines.append(f"{f.tag} {f.ind1}{f.ind2} {subs}")
    return "\n".join(lines)


def _raw_text(raw: RawRecord, source: Source) -> tuple[str, Marc | None]:
    if raw.syntax in ("usmarc", "unimarc", "marcxml", "marc21", "cnmarc", "xml"):
        try:
            marc = read_one(raw.data, raw.syntax, source.encoding, source.format)
            return marc_lines(marc), marc
        except RecordError:
            pass
    text = raw.data.decode("utf-8", "replace")
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, indent=1)[:4000], None
    except ValueError:
        return text[:4000], None


def flags(record: Record, marc: Marc | None, source: Source) -> list[str]:
    out = []
    tags = [h.tag for h in source.holdings] or [
        h.tag for h in DEFAULT_HOLDINGS.get(record.format, ())]
    if not record.title:
        out.append("no title")
    if not record.holdings:
        out.append(f"no holdings found in {', '.join(tags) or 'any tag'} — "
                   "add or fix the source's `holdings:` map")
    elif not any(h.call_number for h in record.holdings):
        out.append("holdings have no call number (索书号) — check the holdings map")
    if not record.isbn and record.isbn_invalid:
        out.append(f"ISBN fails its check digit: {', '.join(record.isbn_invalid)}")
    if marc is not None:
        mapped = CNMARC_TAGS if record.format == "cnmarc" else MARC21_TAGS
        unmapped = sorted({f.tag for f in marc.fields} - mapped - IGNORED_TAGS - set(tags))
        if unmapped:
            out.append(f"fields not mapped: {', '.join(unmapped)}")
        if any("\ufffd" in v for f in marc.fields for _, v in f.subfields):
            out.append("replacement characters (U+FFFD): the encoding may be wrong")
    return out


def sample(source: Source, count: int = 5) -> list[Sample]:
    """Up to `count` records through the harvest path: the connector a harvest of this
    source would get (`connectors.registry`), closed after."""
    samples: list[Sample] = []
    errors: list[tuple[int, str]] = []
    connector: HarvestConnector = open_connector(source)
    try:
        stream = connector.harvest(on_error=lambda pos, why: errors.append((pos, why)))
        raws = [x for x in islice(stream, count * 3) if isinstance(x, RawRecord)][:count]
    finally:
        connector.close()
    for raw in raws:
        text, marc = _raw_text(raw, source)
        s = Sample(raw.position, text)
        try:
            s.record = from_raw(raw, source)
            s.flags = flags(s.record, marc, source)
        except RecordError as e:
            s.error = str(e)
        samples.append(s)
    samples += [Sample(pos, "", error=f"server could not deliver it: {why}")
                for pos, why in errors]
    return samples


def render(source: Source, samples: list[Sample]) -> str:
    out = [f"source {source.name} ({source.protocol} {source.address}): "
           f"{len(samples)} records\n"]
    for s in samples:
        out.append(f"── record {s.position} " + "─" * 50)
        out.append(s.raw_text)
        if s.error:
            out.append(f"  ✗ would be quarantined: {s.error}")
            continue
        assert s.record is not None
        r = s.record
        out.append("  → normalized:")
        for label, value in (("title", r.title), ("authors", "；".join(
                f"{a.name} {a.role}".strip() for a in r.authors)), ("publisher", r.publisher),
                ("year", r.year), ("ISBN", ", ".join(r.isbn)), ("CLC", ", ".join(r.clc)),
                ("encoding", r.encoding)):
            out.append(f"     {label:<10} {value or '—'}")
        for h in r.holdings[:5]:
            out.append(f"     holding    {h.library} | {h.location or '—'} | "
                       f"{h.call_number or '—'} | {h.barcode or '—'} | {h.status or '—'}")
        if len(r.holdings) > 5:
            out.append(f"     … {len(r.holdings) - 5} more holdings")
        out += [f"  ⚠ {flag}" for flag in s.flags]
    return "\n".join(out)
