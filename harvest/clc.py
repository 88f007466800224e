"""中图分类号 (Chinese Library Classification): clean a class number, find its top class.

Records carry CLC in 690$a (CNMARC), 084$a with $2 clc or 093 (MARC21), sometimes several
joined with '；', sometimes an old-scheme number.  The top class is the facet patrons use.
"""

from __future__ import annotations

import re

TOP_CLASSES: dict[str, str] = {
    "A": "马克思主义、列宁主义、毛泽东思想、邓小平理论",
    "B": "哲学、宗教",
    "C": "社会科学总论",
    "D": "政治、法律",
    "E": "军事",
    "F": "经济",
    "G": "文化、科学、教育、体育",
    "H": "语言、文字",
    "I": "文学",
    "J": "艺术",
    "K": "历史、地理",
    "N": "自然科学总论",
    "O": "数理科学和化学",
    "P": "天文学、地球科学",
    "Q": "生物科学",
    "R": "医药、卫生",
    "S": "农业科学",
    "T": "工业技术",
    "U": "交通运输",
    "V": "航空、航天",
    "X": "环境科学、安全科学",
    "Z": "综合性图书",
}

_CLASS = re.compile(r"^[A-Z][A-Z]?[0-9][0-9.\-/:=()\"<>+a-z]*$|^[A-Z]{1,2}$")


def split(value: str) -> list[str]:
    """One subfield may hold several class numbers ('I247.5；K29'); return the valid ones."""
    out = []
    for part in re.split(r"[；;,，\s]+", value.strip().upper().replace("．", ".")):
        if part and _CLASS.match(part) and part[0] in TOP_CLASSES:
            out.append(part)
    return out


def top_class(clc: list[str]) -> str:
    for c in clc:
        if c and c[0] in TOP_CLASSES:
            return c[0]
    return ""
