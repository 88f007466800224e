"""Chinese display names for the codes the index stores (translated where they are shown:
the tables are listed in `portal.catalogues.data_tables`; facet labels are made in the
request's language).

Kept apart from the query logic because both the JSON API (which returns a `label` beside
every facet value, so API users need no tables of their own) and the templates use them.
"""

from __future__ import annotations

from typing import get_args

from core.config import Library
from index.backend import YEAR_RANGES, SearchField, Sort
from portal.clc_tree import label as clc_label
from portal.i18n import _

FACET_TITLES: dict[str, str] = {
    "library": "收藏馆",
    "region": "地区",
    "clc_top": "中图分类",
    "year_range": "出版年",
    "language": "语种",
    "material_type": "文献类型",
}

FIELD_TITLES: dict[str, str] = {
    "any": "任意字段",
    "title": "题名",
    "author": "著者",
    "isbn": "ISBN",
    "subject": "主题",
    "call_number": "索书号",
}

SORT_TITLES: dict[str, str] = {
    "relevance": "相关度",
    "year_desc": "出版年（新→旧）",
    "year_asc": "出版年（旧→新）",
}

# The backend's Literal types are the source of truth; a new field there without a title
# here should fail loudly at import, not show an English code to readers.
assert set(FIELD_TITLES) == set(get_args(SearchField)), "FIELD_TITLES out of date"
assert set(SORT_TITLES) == set(get_args(Sort)), "SORT_TITLES out of date"

LANGUAGES: dict[str, str] = {
    "chi": "中文", "zho": "中文", "eng": "英文", "jpn": "日文", "rus": "俄文", "ger": "德文",
    "deu": "德文", "fre": "法文", "fra": "法文", "kor": "朝鲜文", "spa": "西班牙文",
    "ita": "意大利文", "por": "葡萄牙文", "ara": "阿拉伯文", "lat": "拉丁文", "mon": "蒙古文",
    "tib": "藏文", "bod": "藏文", "uig": "维吾尔文", "zha": "壮文", "kaz": "哈萨克文",
    "vie": "越南文", "tha": "泰文", "mul": "多语种", "und": "未知语种",
}

MATERIAL_TYPES: dict[str, str] = {
    "book": "图书", "serial": "连续出版物", "map": "地图", "score": "乐谱",
    "sound": "录音资料", "video": "视频资料", "electronic": "电子资源",
    "manuscript": "手稿", "visual": "图像资料", "kit": "成套资料", "mixed": "混合资料",
    "article": "文章", "image": "图像资料", "dataset": "数据集", "object": "实物",
    "other": "其他",
}


def _year_range_title(first: int | None, last: int | None) -> str:
    if first is None:
        return f"{last} 年及以前"
    if last is None:
        return f"{first} 年以来"
    return f"{first}–{last}"


YEAR_RANGE_TITLES: dict[str, str] = {
    label: _year_range_title(first, last) for label, first, last in YEAR_RANGES
}

LEVEL_RANK: dict[str, int] = {"province": 0, "city": 1, "county": 2, "town": 3, "village": 4}


def clc_title(code: str) -> str:
    """A class of the hierarchical class facet, with its label (I 文学, I24 小说)."""
    return clc_label(code)


def facet_label(facet: str, value: str, libraries: dict[str, Library]) -> str:
    """Unknown codes are shown as they are: a reader seeing 'xyz' beats an empty label."""
    if facet == "library":
        lib = libraries.get(value)
        return lib.name if lib else value
    if facet == "clc_top":
        return clc_title(value)
    if facet == "year_range":
        return _(YEAR_RANGE_TITLES.get(value, value))
    if facet == "language":
        return _(LANGUAGES.get(value, value))
    if facet == "material_type":
        return _(MATERIAL_TYPES.get(value, value))
    return value
