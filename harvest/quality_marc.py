"""Quality checks that need the MARC itself: required fields and subfields, indicators,
the fixed-length 100$a / 008.  The record model keeps the description, not which field
it came from or its indicators, so these read the raw record the store keeps beside it.

Each check yields (rule code, detail) with codes from `harvest.quality_rules`.  A raw
record that cannot be read again (a test row without bytes, Dublin Core) has no MARC
findings: its faults were the quarantine's business when it arrived.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from harvest.attribution import iso_date
from harvest.clc import levels, unknown_level
from harvest.marc import Marc, RecordError
from harvest.readers import read_one

Finding = tuple[str, str]

# CNMARC 100$a/8 date types (UNIMARC, Koha adds k and u); 26-29 character-set codes seen.
_DATE_TYPES = set("abcdefghijku")
_CHARSETS = {"01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "50", "  "}
_MARC21_DATE_TYPES = set("bcdeikmnpqrstu|")
# Letters, then digits with a dot after every three; then the auxiliary notation
# (-general subdivision, =time, (place), "…", <>, +, :, /) the table allows.
_CLC = re.compile(r"([A-Z]{1,2})(\d{1,2}|\d{3}(?:\.\d{3})*(?:\.\d{1,3})?)?"
                  r"((?:[-=(\"<>+:/].*)?)")


def marc_of(raw: bytes, raw_format: str, encoding: str = "auto") -> Marc | None:
    """The stored raw record as MARC again, or None when it is not MARC or unreadable."""
    try:
        if raw_format in ("usmarc", "unimarc", "marcxml"):
            enc = encoding if encoding in ("utf-8", "gb18030", "marc-8") else "auto"
            return read_one(raw, raw_format, enc)
        if raw_format == "symphony":
            from harvest.crosswalk.symphony import decode_marc
            fields = json.loads(raw).get("fields") or {}
            return decode_marc(fields.get("bib"))
        if raw_format == "koha":
            from harvest.crosswalk.koha import marc_of_envelope
            return marc_of_envelope(raw)
    except (RecordError, ValueError, TypeError, AttributeError):
        return None
    return None


def check(marc: Marc, kind: str) -> Iterator[Finding]:
    yield from (_cnmarc(marc) if kind == "cnmarc" else _marc21(marc))
    if kind == "cnmarc":
        numbers = [v for f in marc.get("690") for v in f.all("a")]
    else:
        numbers = [v for f in marc.get("084") if f.get("2").lower() in ("clc", "clc5", "")
                   for v in f.all("a")]
    bad = [f"“{n}”：{why}" for n in numbers for part in re.split(r"[；;]", n)
           if part.strip() and (why := clc_problem(part.strip()))]
    if bad:
        yield "clc_invalid", "；".join(bad[:3])


_LEVEL_NAMES = ("基本大类", "二级类目", "三级类目")


def clc_problem(number: str) -> str:
    """Why a 中图分类号 cannot be right ('' when it can): its notation, or a level of its
    first three the 中图法 table (`harvest.clc`, data) does not have — the main class,
    the second (T's and DF's second letter), the third (I24, TP3).  Deeper digits are not
    judged: the table is the 4th edition's below that, and the 5th added classes there
    (F209, F719.52), so a deeper check would report valid numbers."""
    text = number.upper().replace("．", ".")
    if _CLC.fullmatch(text) is None:
        return "标记写法不合规（字母后应为数字，每三位数字后加小数点）"
    if missing := unknown_level(text):
        return f"{_LEVEL_NAMES[len(levels(missing)) - 1]}“{missing}”不在《中图法》类目表中"
    return ""


def _missing(marc: Marc, tag: str, codes: str) -> list[str]:
    fields = marc.get(tag)
    if not fields:
        return [f"{tag}${c}" for c in codes]
    return [f"{tag}${c}" for c in codes if not any(f.get(c).strip() for f in fields)]


def _cnmarc(marc: Marc) -> Iterator[Finding]:
    if _missing(marc, "200", "a"):
        yield "field_200a", "200 字段无 $a" if marc.get("200") else "无 200 字段"
    for tag in ("101", "102"):
        if not marc.get(tag):
            yield f"field_{tag}", f"无 {tag} 字段"
    if missing := _missing(marc, "210", "acd"):
        yield "field_210", "缺 " + "、".join(missing)
    if _missing(marc, "215", "a"):
        yield "field_215a", "缺 215$a"
    bad = [f"{f.tag} 第一指示符“{f.ind1}”" for f in marc.get("200") if f.ind1 not in "01"]
    bad += [f"{f.tag} 第二指示符“{f.ind2}”" for f in marc.get("700", "701", "702")
            if f.ind2 not in "01"]
    if bad:
        yield "indicator_invalid", "；".join(bad[:3])
    value = marc.first("100", "a")
    if value and (problem := _field100(value)):
        yield "fixed_100", problem


def _field100(value: str) -> str:
    if len(value) != 36:
        return f"100$a 长 {len(value)} 位，应为 36 位"
    if "#" in value:
        return "100$a 用 # 代替了空格"
    if not iso_date(value[:8]):
        return f"入档日期（0–7 位）“{value[:8]}”不是有效日期"
    if value[8] not in _DATE_TYPES:
        return f"出版日期类型（8 位）“{value[8]}”无效"
    if not (value[9:13].isdigit() or value[9:13].strip(" u") == ""):
        return f"出版年（9–12 位）“{value[9:13]}”无效"
    if not value[22:25].isalpha():
        return f"编目语种（22–24 位）“{value[22:25]}”无效"
    if value[26:28] not in _CHARSETS or value[28:30] not in _CHARSETS:
        return f"字符集（26–29 位）“{value[26:30]}”无效"
    return ""


def _marc21(marc: Marc) -> Iterator[Finding]:
    if _missing(marc, "245", "a"):
        yield "field_245a", "245 字段无 $a" if marc.get("245") else "无 245 字段"
    fixed = marc.control("008")
    if not fixed:
        yield "field_008", "无 008 字段"
    elif len(fixed) != 40:
        yield "fixed_008", f"008 长 {len(fixed)} 位，应为 40 位"
    elif not fixed[:6].isdigit() or fixed[6] not in _MARC21_DATE_TYPES:
        yield "fixed_008", f"入档日期或日期类型（00–06 位）“{fixed[:7]}”无效"
    elif not (fixed[7:11].isdigit() or set(fixed[7:11]) <= set("u0123456789")):
        yield "fixed_008", f"出版年（07–10 位）“{fixed[7:11]}”无效"
    tag = "264" if marc.get("264") else "260"
    if missing := _missing(marc, tag, "abc"):
        yield "field_264", "缺 " + "、".join(missing)
    if _missing(marc, "300", "a"):
        yield "field_300a", "缺 300$a"
    bad = [f"245 指示符“{f.ind1}{f.ind2}”" for f in marc.get("245")
           if f.ind1 not in "01" or not f.ind2.isdigit()]
    bad += [f"{f.tag} 第一指示符“{f.ind1}”" for f in marc.get("100", "700")
            if f.ind1 not in "013"]
    if bad:
        yield "indicator_invalid", "；".join(bad[:3])
