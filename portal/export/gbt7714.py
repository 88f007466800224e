"""GB/T 7714-2015 (信息与文献 参考文献著录规则) citations of catalogue entries.

The monograph pattern (专著, 4.1):

    主要责任者. 题名: 其他题名信息[文献类型标识]. 其他责任者. 版本项. 出版地: 出版者, 出版年.

with the rules a student is marked on: at most three creators, then ", 等" (", et al."
in a Western-language citation); creators surname first, a Western given name as initials
without full stops and the surname in capitals (EINSTEIN A); roles are not given, except
translators, who go to 其他责任者 with ", 译"; the first edition is not stated, others as
"2版" / "2nd ed."; a missing place or publisher is "[出版地不详]" / "[出版者不详]"
("[S.l.]" / "[s.n.]"); an online document is [M/OL] followed by the date it was looked at
and its address.  The type code (文献类型标识) comes from the record's material type.
"""

from __future__ import annotations

import re
from datetime import date

from core.model import Author, Record

# Record.material_type → 文献类型标识 (GB/T 7714-2015 Appendix B).
TYPE_CODES = {
    "book": "M", "serial": "J", "map": "CM", "dataset": "DS", "article": "J",
    "electronic": "M", "manuscript": "A",
}
OTHER = "Z"
MAX_CREATORS = 3
TRANSLATOR_ROLES = ("译", "翻译", "译者", "编译", "translator", "trl", "tr.")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_NAME = re.compile(r"^[A-Za-zÀ-ɏ' .,\-]+$")
_CORPORATE = re.compile(r"\b(university|society|association|institute|committee|council|"
                        r"organization|organisation|press|ministry|department|office|"
                        r"academy|library|company|inc|ltd|group)\b", re.I)
_DATES = re.compile(r",?\s*(?:b\.\s*|d\.\s*|ca\.\s*)?\d{3,4}\??-?(?:\d{3,4}\??)?\.?$")
_EDITION_NUMBER = re.compile(r"第?\s*([0-9一二三四五六七八九十]+)\s*版")
_ORDINAL = re.compile(r"^\s*(\d+)(st|nd|rd|th)\b", re.I)
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def is_chinese(record: Record) -> bool:
    """Chinese conventions (等, [出版地不详], 2版) for a Chinese (or CJK-titled) work."""
    return record.language in ("chi", "zho") or bool(_CJK.search(record.title))


def personal_name(name: str) -> str:
    """A Western personal name surname first with initials, surname in capitals:
    "Einstein, Albert" and "Albert Einstein" → "EINSTEIN A"; a Chinese name, a corporate
    name or a romanized Chinese name already surname first is left as written."""
    name = " ".join(name.replace("，", ",").split()).strip(" ,.;/")
    name = _DATES.sub("", name).strip(" ,.")  # MARC headings carry dates: "Smith, J., 1950-"
    if not name or _CJK.search(name) or not _LATIN_NAME.match(name) or _CORPORATE.search(name):
        return name
    if "," in name:
        surname, _, given = name.partition(",")
    else:
        parts = name.split(" ")
        if len(parts) < 2:
            return name
        surname, given = parts[-1], " ".join(parts[:-1])
    initials = " ".join(p[0].upper() for p in re.split(r"[\s.\-]+", given) if p[:1].isalpha())
    return " ".join(x for x in (surname.strip().upper(), initials) if x)


def _is_translator(author: Author) -> bool:
    role = author.role.strip().lower()
    return any(role == r or role.endswith(r) for r in TRANSLATOR_ROLES)


def _names(authors: list[Author], chinese: bool) -> str:
    names = list(dict.fromkeys(personal_name(a.name) for a in authors if a.name.strip()))
    more = len(names) > MAX_CREATORS
    shown = ", ".join(names[:MAX_CREATORS])
    return shown + ((", 等" if chinese else ", et al.") if more else "")


def edition(text: str, chinese: bool) -> str:
    """"第2版", "第二版" → "2版"; "2nd ed." kept; a first edition is not stated."""
    text = text.strip().rstrip(".")
    if not text:
        return ""
    m = _EDITION_NUMBER.search(text)
    if m:
        raw = m.group(1)
        number = int(raw) if raw.isdigit() else _cn_number(raw)
        return "" if number == 1 else f"{number or raw}版"
    m = _ORDINAL.match(text)
    if m:
        return "" if m.group(1) == "1" else f"{m.group(1)}{m.group(2).lower()} ed."
    return text


def _cn_number(text: str) -> int:
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + _CN_DIGITS.get(text[1:], 0)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return _CN_DIGITS.get(tens, 0) * 10 + _CN_DIGITS.get(ones, 0)
    return _CN_DIGITS.get(text, 0)


def type_code(record: Record) -> str:
    code = TYPE_CODES.get(record.material_type or "book", OTHER)
    return f"{code}/OL" if record.online_url else code


def _clean(text: str) -> str:
    return " ".join(text.split()).strip(" :;,/=.")


def cite(record: Record, accessed: date | None = None) -> str:
    """One citation, ending in a full stop."""
    chinese = is_chinese(record)
    main = [a for a in record.authors if not _is_translator(a)]
    translators = [a for a in record.authors if _is_translator(a)]
    title = _clean(record.title) or ("[无题名]" if chinese else "[Untitled]")
    if record.volume:
        title += f": {_clean(record.volume)}"
    parts = []
    creators = _names(main, chinese)
    if creators:
        parts.append(creators)
    parts.append(f"{title}[{type_code(record)}]")
    if translators:
        parts.append(f"{_names(translators, chinese)}, {'译' if chinese else 'trans'}")
    ed = edition(record.edition, chinese)
    if ed:
        parts.append(ed)
    place = _clean(record.place).strip("[]") or ("[出版地不详]" if chinese else "[S.l.]")
    publisher = _clean(record.publisher) or ("[出版者不详]" if chinese else "[s.n.]")
    year = str(record.year) if record.year else ("[出版年不详]" if chinese else "[n.d.]")
    imprint = f"{place}: {publisher}, {year}"
    if record.online_url:
        imprint += f"[{(accessed or date.today()).isoformat()}]"
    parts.append(imprint)
    text = ". ".join(p.rstrip(".") for p in parts) + "."
    if record.online_url:
        text += f" {record.online_url}."
    return text


def citations(records: list[Record], accessed: date | None = None) -> str:
    """A numbered reference list ([1] …), one per line, for a marked list."""
    return "".join(f"[{n}] {cite(r, accessed)}\n" for n, r in enumerate(records, 1))


__all__ = ["cite", "citations", "edition", "personal_name", "type_code"]
