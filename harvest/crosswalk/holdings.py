"""Holdings (馆藏) from the bibliographic record, through per-source maps.

Every system puts items somewhere else: MARC21 852 (standard), 952 (Koha), 999
(SirsiDynix Symphony/Unicorn), 949 (many local exports); CNMARC 905 (holding summary:
call number 索取号) and 906 (items: barcode 条码号, location 馆藏地).  The defaults below
are tables, and a source overrides them in config.yaml when its export differs — e.g.
the Aleph export in the dp2 sample keeps the barcode in 906$b.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.config import HoldingsMap
from core.model import Holding
from harvest.crosswalk.common import tidied, tidy
from harvest.marc import Field, Marc

DEFAULTS: dict[str, tuple[HoldingsMap, ...]] = {
    "marc21": (
        HoldingsMap(tag="852", location="b", call_number="h/i", barcode="p"),
        HoldingsMap(tag="952", library="a", location="c", call_number="o", barcode="p"),
        HoldingsMap(tag="999", library="m", location="l", call_number="a", barcode="i",
                    status="k"),
        HoldingsMap(tag="949", location="l", call_number="a", barcode="i"),
    ),
    "cnmarc": (
        HoldingsMap(tag="905", call_number="s"),
        HoldingsMap(tag="906", barcode="a", location="b", call_number="c", status="s"),
    ),
}


def _spec(f: Field, spec: str) -> str:
    if not spec:
        return ""
    if "/" not in spec:  # one subfield code, the usual case
        return tidy(f.get(spec))
    return "/".join(tidied(f.get(code) for code in spec.split("/")))


def extract_holdings(marc: Marc, flavour: str, library: str,
                     maps: Sequence[HoldingsMap] = ()) -> list[Holding]:
    """Items with a barcode win over summary fields; a summary's call number fills the
    items that lack one (CNMARC 905 gives 索取号, 906 the copies)."""
    maps = tuple(maps) or DEFAULTS.get(flavour, ())
    items: list[Holding] = []
    summaries: list[Holding] = []
    for m in maps:
        for f in marc.get(m.tag):
            h = Holding(
                library=library,
                location=_spec(f, m.location),
                call_number=_spec(f, m.call_number),
                barcode=_spec(f, m.barcode),
                status=_spec(f, m.status),
            )
            member = _spec(f, m.library)
            if member:
                h.note = member  # the member code as the source wrote it, for union catalogs
            if not (h.barcode or h.call_number or h.location):
                continue
            (items if h.barcode else summaries).append(h)
    if not items:
        return summaries
    fallback = next((s.call_number for s in summaries if s.call_number), "")
    for h in items:
        if not h.call_number:
            h.call_number = fallback
    return items
