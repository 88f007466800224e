"""Symphony Web Services bib JSON (as `connectors.symphony` harvests it) → Record.

The bibliographic part is MARC: ILSWS sends it as structured JSON in ``fields.bib``
(``{leader, fields: [{tag, inds, subfields: [{code, data}]}]}``, control fields as one
subfield with code ``_``), which becomes a `harvest.marc.Marc` and goes through the same
CNMARC/MARC 21 crosswalk as every other source.  Holdings do not come from the MARC but
from Symphony's own call and item records (``callList[].itemList[]``): one Holding per
item, its Symphony library mapped to a consortium library through the source's
``members``.  An item of a library missing from ``members`` is kept under the source's
own library with the Symphony code in ``note``, so an unmapped county shows up in the
catalogue (and in the admin's eyes) instead of vanishing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import RawRecord
from core.config import Source
from core.model import Holding, Record
from harvest import crosswalk
from harvest.attribution import attribute, read_agencies
from harvest.crosswalk.common import load_json, shape_error
from harvest.marc import Field, Marc, RecordError

CONTROL_CODE = "_"  # ILSWS puts a control field's data in one subfield with this code


def to_record(raw: RawRecord, source: Source) -> Record:
    """RecordError (the quarantine reason) when the JSON or its MARC is unusable."""
    bib = load_json(raw.data, "Symphony bib")
    if not isinstance(bib, Mapping):
        raise RecordError("Symphony bib is not a JSON object")
    fields = bib.get("fields")
    if not isinstance(fields, Mapping):
        raise RecordError("Symphony bib has no 'fields' (was it fetched with includeFields?)")
    key = str(bib.get("key") or bib.get("@key") or raw.record_id)
    marc = decode_marc(fields.get("bib"))
    record = crosswalk.to_record(marc, source.name, source.library, key, source.format,
                                 source.holdings, source.attribution)
    # The catalogue key, not 001: it is what the connector's deletion notices name, and
    # 001 in a union catalogue is often the contributing library's own number.
    record.source_id = key or record.source_id
    if "callList" in fields:
        record.holdings = holdings(fields.get("callList"), source, key)
    # Again with the copies and the system's own dates (createDate, modifiedDate): ILSWS
    # names no creating user or library (notes: symphony-ilsws.md).
    attribute(record, read_agencies(marc, record.format, source.attribution), source.attribution,
              source_created=_text(fields.get("createDate")),
              source_modified=_text(fields.get("modifiedDate")))
    return record


def decode_marc(data: Any) -> Marc:
    """``fields.bib`` → Marc.  Accepts the shapes clients have seen: a ``{leader,
    fields}`` object, and control fields given as ``data`` instead of a ``_`` subfield."""
    if data is None:
        raise RecordError("Symphony bib has no MARC (fields.bib missing: add 'bib' to "
                          "includeFields)")
    if not isinstance(data, Mapping) or not isinstance(data.get("fields"), list):
        raise RecordError(f"Symphony MARC is not a {{leader, fields}} object "
                          f"(got {type(data).__name__})")
    leader = str(data.get("leader") or "")
    out: list[Field] = []
    for n, f in enumerate(data["fields"]):
        if not isinstance(f, Mapping) or not isinstance(f.get("tag"), str):
            raise RecordError(f"Symphony MARC field #{n + 1} has no tag")
        tag = f["tag"]
        subs = f.get("subfields") or []
        if not isinstance(subs, list) or not all(isinstance(s, Mapping) for s in subs):
            raise RecordError(f"Symphony MARC field {tag}: subfields are not a list of objects")
        pairs = [(str(s.get("code") or ""), str(s.get("data") or "")) for s in subs]
        if tag < "010" and tag.isdigit():
            value = f.get("data")
            if value is None:
                value = "".join(d for c, d in pairs if c in (CONTROL_CODE, ""))
            out.append(Field(tag, value=str(value)))
            continue
        inds = str(f.get("inds") or "").ljust(2)
        out.append(Field(tag, inds[0], inds[1], pairs))
    if not out:
        raise RecordError("Symphony MARC has no fields")
    return Marc(leader=leader.ljust(24)[:24], fields=out, encoding="utf-8")


def _key(link: Any) -> str:
    if isinstance(link, Mapping):
        return _text(link.get("key") or link.get("@key"))
    return ""


def _fields(resource: Any) -> Mapping[str, Any]:
    fields = resource.get("fields") if isinstance(resource, Mapping) else None
    return fields if isinstance(fields, Mapping) else {}


def holdings(call_list: Any, source: Source, key: str = "") -> list[Holding]:
    """One Holding per item that is not shadowed (hidden from the public in Symphony).
    A callList or itemList that is not a list (nor absent) is a RecordError naming its
    path: guessing what a dict or a string of items means would invent holdings."""
    what = f"Symphony bib {key}" if key else "Symphony bib"
    if call_list is None:
        return []
    if not isinstance(call_list, list):
        raise shape_error(what, "fields.callList", "a list", call_list)
    out: list[Holding] = []
    for n, call in enumerate(call_list):
        if call is not None and not isinstance(call, Mapping):
            raise shape_error(what, f"fields.callList[{n}]", "an object", call)
        cf = _fields(call)
        if cf.get("shadowed") is True:
            continue
        number = str(_text(cf.get("callNumber")) or _text(cf.get("dispCallNumber"))).strip()
        items = cf.get("itemList")
        if items is None:
            items = []
        if not isinstance(items, list):
            raise shape_error(what, f"fields.callList[{n}].fields.itemList", "a list", items)
        for m, item in enumerate(items):
            if item is not None and not isinstance(item, Mapping):
                raise shape_error(what, f"fields.callList[{n}].fields.itemList[{m}]",
                                  "an object", item)
            f = _fields(item)
            if f.get("shadowed") is True:
                continue
            remote = _key(f.get("library")) or _key(cf.get("library"))
            member = source.member_library(remote) if remote else ""
            home = f.get("homeLocation")
            current = _key(f.get("currentLocation"))
            out.append(Holding(
                library=member or source.library,
                location=str(_text(_fields(home).get("description")) or _key(home)),
                call_number=number,
                barcode=_text(f.get("barcode")),
                # Symphony says "on the shelf" by the current location being the home one.
                status="ON-SHELF" if current and current == _key(home) else current,
                note="" if member else remote,
                created=_text(f.get("createdDate"))[:10],
            ))
    return out


def _text(value: Any) -> str:
    """A scalar as text; a list or object where text belongs is no text (never its repr)."""
    if value is None or isinstance(value, list | dict):
        return ""
    return str(value)
