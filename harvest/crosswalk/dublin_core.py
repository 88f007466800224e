"""Dublin Core → Record: oai_dc from OAI-PMH, srw_dc from SRU, any container of dc:/dcterms:.

DC is flat and free text, so the rules here are about reading intent from text: an
identifier is an ISBN, a link to the digitized object or a cover image; a publisher may be
a place ("北京"); a coverage names the 省/市/县 a local document is about; a date may be a
reign year (光绪二十一年).  Mappings are tables at the top, so a librarian can correct them
without reading the code.  Only http(s) links ever reach the record: the portal puts them in
``href``/``src``, where ``javascript:`` or ``data:`` would run in readers' browsers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from connectors.base import RawRecord
from core.config import Source
from core.model import Author, Record
from harvest import clc, isbn
from harvest.crosswalk.common import add_clc, add_isbns, add_unique, tidy, year
from harvest.marc import RecordError, parse_xml

DC_NS = "http://purl.org/dc/elements/1.1/"
DCTERMS_NS = "http://purl.org/dc/terms/"

# DC and DCTERMS element → the slot it feeds; elements not listed are ignored.
ELEMENTS: dict[str, str] = {
    "title": "title", "alternative": "title_alt",
    "creator": "creator", "contributor": "contributor",
    "publisher": "publisher",
    "date": "date", "issued": "date", "created": "date",
    "type": "type", "format": "format", "identifier": "identifier",
    "subject": "subject", "coverage": "coverage", "spatial": "coverage",
    "language": "language",
    "description": "description", "abstract": "description",
    "relation": "relation", "isPartOf": "series",
}

# dc:type (case, spaces and vocabulary prefixes ignored) → material type.
MATERIAL_TYPES: dict[str, str] = {
    **dict.fromkeys(("text", "book", "图书", "文本", "专著", "地方志", "方志", "县志",
                     "gazetteer", "族谱", "家谱", "genealogy", "thesis", "doctoralthesis",
                     "masterthesis", "学位论文", "report", "workingpaper"), "book"),
    **dict.fromkeys(("image", "stillimage", "图像", "图片", "照片", "photograph",
                     "拓片", "拓本", "rubbing", "碑帖"), "image"),
    **dict.fromkeys(("古籍", "manuscript", "手稿", "稿本", "抄本", "写本"), "manuscript"),
    **dict.fromkeys(("sound", "audio", "录音", "音频"), "sound"),
    **dict.fromkeys(("movingimage", "video", "film", "视频", "影像"), "video"),
    **dict.fromkeys(("dataset", "数据集"), "dataset"),
    **dict.fromkeys(("software", "interactiveresource", "电子资源"), "electronic"),
    **dict.fromkeys(("physicalobject", "实物"), "object"),
    **dict.fromkeys(("map", "cartographic", "地图", "舆图"), "map"),
    **dict.fromkeys(("score", "notatedmusic", "乐谱"), "score"),
    **dict.fromkeys(("serial", "newspaper", "periodical", "journal", "报纸", "期刊",
                     "连续出版物"), "serial"),
    **dict.fromkeys(("article", "journalarticle", "conferenceobject", "bookpart", "文章",
                     "论文"), "article"),
    "collection": "mixed", "event": "other", "service": "other",
}
# dc:format words that say more than dc:type does (a genealogy copied by hand).
FORMAT_HINTS: dict[str, str] = {"抄本": "manuscript", "稿本": "manuscript",
                                "手稿": "manuscript", "写本": "manuscript"}
_TYPE_PREFIXES = ("info:eu-repo/semantics/", "http://purl.org/dc/dcmitype/", "dcmitype:",
                  "doc-type:")

# dc:language → ISO 639-2/B, as the MARC crosswalks write it.
LANGUAGES: dict[str, str] = {
    **dict.fromkeys(("zh", "chi", "zho", "chinese", "中文", "汉语", "汉文", "中"), "chi"),
    **dict.fromkeys(("en", "eng", "english", "英文", "英语"), "eng"),
    **dict.fromkeys(("ja", "jpn", "japanese", "日文", "日语"), "jpn"),
    **dict.fromkeys(("ru", "rus", "俄文"), "rus"), **dict.fromkeys(("de", "ger", "deu"), "ger"),
    **dict.fromkeys(("fr", "fre", "fra"), "fre"), **dict.fromkeys(("ko", "kor", "朝鲜文"), "kor"),
    **dict.fromkeys(("mn", "mon", "蒙古文"), "mon"), **dict.fromkeys(("bo", "tib", "藏文"), "tib"),
    **dict.fromkeys(("ug", "uig", "维吾尔文"), "uig"), **dict.fromkeys(("la", "lat"), "lat"),
}

# Roles written after a name ("叶震 主编"), longest first so 副主编 is not read as 主编.
ROLES = ("副主编", "总纂", "主编", "编纂", "编著", "编辑", "纂修", "校注", "点校", "整理",
         "摄影", "口述", "执笔", "主修", "编", "著", "撰", "纂", "修", "辑", "译", "摄",
         "绘", "拓", "述", "注")

# Cities Chinese imprints name as the place of publication ("北京 : 中国统计出版社").
PUBLISHING_CITIES = frozenset((
    "北京", "上海", "天津", "重庆", "西安", "南京", "广州", "杭州", "成都", "武汉", "长沙",
    "沈阳", "济南", "郑州", "兰州", "太原", "石家庄", "哈尔滨", "长春", "福州", "南昌", "合肥",
    "昆明", "贵阳", "南宁", "海口", "银川", "西宁", "乌鲁木齐", "拉萨", "呼和浩特", "香港",
    "台北", "咸阳", "宝鸡", "延安", "榆林", "汉中", "安康", "商洛", "渭南", "铜川"))
_PUBLISHER_WORD = re.compile(r"出版|书局|书店|印书馆|社|公司|馆|局|委员会|大学|学院|研究|"
                             r"(?i:press|publish|verlag|editions|books|university)")
_REGION = re.compile(
    r"[\u4e00-\u9fff]{1,7}?(?:自治区|自治州|自治县|特别行政区|省|市|地区|盟|县|区|旗)")
_REGION_SUBJECT = re.compile(r"[\u4e00-\u9fff]{1,7}(?:自治区|自治州|自治县|省|市|县)")
NOT_PLACES = frozenset({"城市", "都市", "超市", "集市", "股市", "省市", "县市", "城县"})
_TEMPORAL = re.compile(r"\d{3,4}|世纪|年代|时期|民国|[秦汉晋隋唐宋元明清]代|[唐宋元明清]朝")
_SERIES_MARKER = re.compile(r"丛书|文库|丛刊|书系|系列|文史资料|资料选辑|集成|大系|(?i:series)")

# Reigns whose year counts date Qing and Republican documents: first year of each.
ERAS: dict[str, int] = {"顺治": 1644, "康熙": 1662, "雍正": 1723, "乾隆": 1736, "嘉庆": 1796,
                        "道光": 1821, "咸丰": 1851, "同治": 1862, "光绪": 1875, "宣统": 1909,
                        "民国": 1912}
_ERA_YEAR = re.compile("(" + "|".join(ERAS) + ")([元〇零一二三四五六七八九十]{1,4})年")

_IMAGE_EXT = (".jpg", ".jpeg", ".png", ".gif", ".webp")
_IMAGE_WORD = re.compile(r"(?:^|[/_.=?&-])(?:get)?(?:thumbnails?|thumbs?|covers?)(?:$|[/_.=?&-])")
_COVER_LABEL = re.compile(r"thumbnail|thumb|cover|封面|缩略图|书影", re.IGNORECASE)
_LABEL = re.compile(r"^\s*([A-Za-z][A-Za-z -]{1,20}|[\u4e00-\u9fff]{1,6})\s*[:：]\s*(.+)$")
_ISBN_LABEL = re.compile(r"^\s*(?:urn:isbn:|isbn(?:-1[03])?\b\s*[:：]?\s*)(.+)$", re.IGNORECASE)
_ISSN_LABEL = re.compile(r"^\s*(?:urn:issn:|issn\b\s*[:：]?\s*)(.+)$", re.IGNORECASE)
_ISBN_HYPHENATED = re.compile(r"^(?:97[89][- ])?\d{1,5}[- ]\d{1,7}[- ]\d{1,7}[- ][\dXx]$")
_ISBN_BARE = re.compile(r"^(?:97[89])?\d{9}[\dXx]$")
_ISSN = re.compile(r"^(\d{4})-?(\d{3}[\dXx])$")
_ISSN_HYPHENATED = re.compile(r"^\d{4}-\d{3}[\dXx]$")
_CLC_LABEL = re.compile(r"^\s*(?:中图分类号|中图法|分类号|CLC)\s*[:：]?\s*", re.IGNORECASE)
_CLC_SHAPE = re.compile(r"^[A-Z]{1,2}\d[\d.\-/:=()\"<>+a-z]*$")
_DYNASTY = re.compile(r"^[(（\[［〔]\s*[^)）\]］〕]{1,4}\s*[)）\]］〕]\s*")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_DECLARED = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)")

Value = tuple[str, dict[str, str]]  # text, attributes (qualifiers such as xsi:type)


def to_record(raw: RawRecord, source: Source) -> Record:
    """One DC record → Record; RecordError (the quarantine reason) when unreadable."""
    fields = _read(raw.data)
    titles = [tidy(t) for t, _ in fields.get("title", []) if tidy(t)]
    if not titles:
        raise RecordError("Dublin Core record without dc:title")
    declared = _DECLARED.match(raw.data)
    r = Record(source=source.name, source_id=raw.record_id or f"#{raw.position}",
               library=source.library, format="dc",
               encoding=declared.group(1).decode().lower() if declared else "utf-8")
    r.title = titles[0]
    add_unique(r.title_alt, *titles[1:], *(t for t, _ in fields.get("title_alt", [])))
    _people(r, fields)
    _publishers(r, [t for t, _ in fields.get("publisher", [])])
    dates = [t for t, _ in fields.get("date", [])]
    r.year = year(*dates) or _era_year(dates)
    _identifiers(r, fields.get("identifier", []))
    r.material_type = material_type([t for t, _ in fields.get("type", [])],
                                    [t for t, _ in fields.get("format", [])])
    for text, _ in fields.get("coverage", []):
        add_unique(r.places, *places_in(text))
    _subjects(r, fields.get("subject", []))
    r.language = language([t for t, _ in fields.get("language", [])])
    summary: list[str] = []
    add_unique(summary, *(t for t, _ in fields.get("description", [])))
    r.summary = "\n".join(summary)
    _series(r, fields)
    return r


def _read(data: bytes) -> dict[str, list[Value]]:
    """Every dc:/dcterms: element anywhere in the record, by slot, in document order."""
    root = parse_xml(data)  # RecordError for every unreadable document, named
    fields: dict[str, list[Value]] = {}
    found = False
    for el in root.iter():
        ns, _, name = el.tag[1:].partition("}") if el.tag.startswith("{") else ("", "", "")
        if ns not in (DC_NS, DCTERMS_NS):
            continue
        found = True
        slot = ELEMENTS.get(name)
        text = " ".join("".join(el.itertext()).split())
        if slot and text:
            attrs = {k.rsplit("}", 1)[-1]: v for k, v in el.attrib.items()}
            fields.setdefault(slot, []).append((text, attrs))
    if not found:
        raise RecordError("no Dublin Core elements (dc:… or dcterms:…) in the record")
    return fields


# -- people and imprint -----------------------------------------------------------------


def split_role(text: str, default: str = "") -> tuple[str, str]:
    """'叶震 主编' → ('叶震', '主编'); '(清)王某 修' → ('王某', '修').  Without a space the
    role is split off only from a name of four or more characters (an organisation), so
    欧阳修 stays a name."""
    text = _DYNASTY.sub("", text.strip())
    for role in ROLES:
        if text.endswith(role) and len(text) > len(role):
            name = text[: -len(role)]
            if name != name.rstrip() or len(name) >= 4:
                return name.strip(), role
    return text, default


def _people(r: Record, fields: dict[str, list[Value]]) -> None:
    statements: list[str] = []
    for slot, default in (("creator", "著"), ("contributor", "")):
        for text, _ in fields.get(slot, []):
            add_unique(statements, text)
            # Several people in one element share the role written after the last one.
            parts = re.split(r"\s*[、，,;；]\s*", text) if _CJK.search(text) else [text]
            _, shared = split_role(parts[-1], default)
            for part in parts:
                name, role = split_role(part, shared)
                if name and all(a.name != name for a in r.authors):
                    r.authors.append(Author(name=name, role=role))
    r.responsibility = "; ".join(statements)


def _is_place(text: str) -> bool:
    if _PUBLISHER_WORD.search(text):
        return False
    return text in PUBLISHING_CITIES or bool(re.fullmatch(r"[\u4e00-\u9fff]{1,6}[省市县]", text))


def _publishers(r: Record, values: list[str]) -> None:
    """Imprints: 'place : publisher' in one element, or place and publisher as two."""
    names: list[str] = []
    for text in values:
        parts = [tidy(p) for p in re.split(r"\s*[:：]\s*", text) if tidy(p)]
        if len(parts) == 2 and _is_place(parts[0]):
            r.place = r.place or parts[0]
            add_unique(names, parts[1])
        elif _is_place(tidy(text)):
            r.place = r.place or tidy(text)
        else:
            add_unique(names, text)
    if names:
        r.publisher, r.publisher_alt = names[0], names[1:]


def _chinese_number(text: str) -> int | None:
    if text == "元":
        return 1
    digits = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0}
    if "十" in text:
        tens, _, ones = text.partition("十")
        value = (digits.get(tens, 0) if tens else 1) * 10 + (digits.get(ones, 0) if ones else 0)
        return value if all(c in digits for c in tens + ones) else None
    return digits.get(text) if len(text) == 1 else None


def _era_year(dates: list[str]) -> int | None:
    """光绪二十一年 → 1895, 民国二十四年 → 1935: dates of local documents often have
    only the reign year."""
    for text in dates:
        m = _ERA_YEAR.search(text)
        n = _chinese_number(m.group(2)) if m else None
        if m and n:
            return ERAS[m.group(1)] + n - 1
    return None


# -- identifiers and links -------------------------------------------------------------


def http_url(text: str) -> str:
    """The text as an http(s) URL, or '' — never javascript:, data: or anything else a
    browser would run or read locally."""
    url = text.strip()
    if not url or any(c.isspace() or ord(c) < 32 or c in '"<>\\`' for c in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else ""


def _is_image(url: str, qualifier: str) -> bool:
    parts = urlsplit(url)
    path = parts.path.lower()
    return (path.endswith(_IMAGE_EXT) or bool(_COVER_LABEL.search(qualifier))
            or bool(_IMAGE_WORD.search(f"{path}?{parts.query.lower()}")))


def _looks_like_isbn(value: str) -> bool:
    """Hyphenated in ISBN groups (kept even with a wrong check digit), or 10/13 bare
    digits with a right one (else it is some other number)."""
    return bool(_ISBN_HYPHENATED.match(value)
                or (_ISBN_BARE.match(value) and isbn.normalize(value)[0]))


def _identifiers(r: Record, values: list[Value]) -> None:
    covers: list[str] = []
    objects: list[str] = []
    for text, attrs in values:
        qualifier = " ".join(attrs.values())
        value = text
        labelled = _LABEL.match(text)
        if labelled and not labelled.group(1).lower().startswith(("http", "urn", "isbn", "issn")):
            qualifier, value = f"{qualifier} {labelled.group(1)}", labelled.group(2)
        url = http_url(value)
        if url:
            (covers if _is_image(url, qualifier) else objects).append(url)
        elif m := _ISBN_LABEL.match(value):
            add_isbns(r, [m.group(1)], [])
        elif _looks_like_isbn(value.strip()):
            add_isbns(r, [value], [])
        elif (m := _ISSN_LABEL.match(value)) or _ISSN_HYPHENATED.match(value.strip()):
            issn = _ISSN.match((m.group(1) if m else value).strip())
            if issn:
                add_unique(r.issn, f"{issn.group(1)}-{issn.group(2).upper()}")
    r.cover_url = covers[0] if covers else ""
    pdfs = [u for u in objects if urlsplit(u).path.lower().endswith(".pdf")]
    r.online_url = (pdfs or objects or [""])[0]


# -- what it is, what it is about -----------------------------------------------------


def _type_key(text: str) -> str:
    key = text.strip().lower()
    for prefix in _TYPE_PREFIXES:
        key = key.removeprefix(prefix)
    return re.sub(r"[\s_-]+", "", key)


_TYPES = {_type_key(k): v for k, v in MATERIAL_TYPES.items()}


def material_type(types: Sequence[str], formats: Sequence[str] = ()) -> str:
    """The most specific type named: 'Text' + '报纸' is a serial, 'Text' alone a book;
    '' without any dc:type, 'other' when none is known."""
    kinds = [_TYPES[k] for k in map(_type_key, types) if k in _TYPES]
    kinds += [FORMAT_HINTS[w] for f in formats for w in f.split() if w in FORMAT_HINTS]
    specific = [k for k in kinds if k != "book"]
    if specific:
        return specific[0]
    if kinds:
        return "book"
    return "other" if types else ""


def language(values: Sequence[str]) -> str:
    for text in values:
        key = text.strip().lower().replace("_", "-")
        code = LANGUAGES.get(key) or LANGUAGES.get(key.split("-")[0])
        if code:
            return code
        if re.fullmatch(r"[a-z]{3}", key):
            return key
    return ""


def places_in(text: str) -> list[str]:
    """Place names in a coverage: '陕西省咸阳市礼泉县' → 陕西省, 咸阳市, 礼泉县; a value
    without 省/市/县… ('关中', 'Shaanxi') as it is; temporal coverage ('民国', '1912-1949')
    gives none."""
    text = text.strip()
    if not text or _TEMPORAL.search(text):
        return []
    found = [m.group(0) for m in _REGION.finditer(text)]
    return found or [tidy(p) for p in re.split(r"\s*[;；,，、]\s*", text) if tidy(p)]


def _subjects(r: Record, values: list[Value]) -> None:
    codes: list[str] = []
    for text, attrs in values:
        scheme = " ".join(attrs.values()).lower()
        bare = _CLC_LABEL.sub("", text).strip()
        if ("clc" in scheme or "中图" in scheme or _CLC_SHAPE.match(bare)) and clc.split(bare):
            codes.append(bare)
            continue
        for subject in re.split(r"\s*[;；]\s*", text):
            add_unique(r.subjects, subject)
            for part in re.split(r"\s*(?:—+|--|－|/)\s*", subject):
                if _REGION_SUBJECT.fullmatch(part) and part not in NOT_PLACES:
                    add_unique(r.places, part)
    add_clc(r, codes)


def _series(r: Record, fields: dict[str, list[Value]]) -> None:
    """dcterms:isPartOf always; dc:relation when it reads as a series: a series word
    (丛书, 文史资料, Series …), or the start of the title ('富平文史资料 第3辑')."""
    for text, _ in fields.get("series", []):
        if not http_url(text):
            add_unique(r.series, text)
    for text, _ in fields.get("relation", []):
        if http_url(text) or ":" in text.split(" ")[0]:
            continue  # a link or an identifier (urn:…, hdl:…), not a series
        if _SERIES_MARKER.search(text) or (len(text) >= 2 and r.title.startswith(text)):
            add_unique(r.series, text)
