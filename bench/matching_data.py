"""The labeled evaluation set for `harvest.matching`: records plus the edition they are.

Two sources, both turned into `core.model.Record`s through the real crosswalks:

* **generated** — `tongjian.generator` editions, each catalogued by every library that
  holds it (CNMARC and MARC 21 + 880 cataloguers with their own habits: ISBN-10 vs -13,
  typos in check digits, $A vs $9 pinyin, "主编张三", volume typed into the title …).  The
  ground truth is the generator's edition key.  On top, each record gets further
  cataloguing variants (`VARIANTS`: traditional characters, full-width and extra
  punctuation, another statement of responsibility, missing ISBN, subtitle in or out …)
  and the universe gets hard negatives (`NEGATIVES`: another edition, a reprint, the same
  title by another author, the same author with another title, a set ISBN on every
  volume), each a new edition catalogued like the others; and books printed under an
  ISBN another book already has (`REUSED_ISBN`, 一号多书).
* **real** — records from ../shared/data (dp2 CNMARC and MARC 21 from a Chinese SRU
  server, LC MARC 21 with 880s, Blacklight/Evergreen CJK samples, 383 HathiTrust records
  of Jane Austen editions incl. 29 Chinese translations, the same file with injected
  errors).  Truth = the record's 001 within a family of files that are exports of the
  same catalogue.  Each real record also gets a variant copy (another library's
  cataloguing) and derived hard negatives (other volumes sharing its ISBN, another
  edition, the same title by someone else).

Pairs whose truth cannot be known (two real records with different 001s but the same
title, year and author and no conflicting ISBN — a duplicate record or two printings?)
are listed in `excluded` (as pairs of truths) and left out of the counts.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from core.model import Author, Record
from harvest.crosswalk import to_record
from harvest.crosswalk.common import add_isbns
from harvest.readers import read
from tongjian.generator import Edition, LibrarySpec, iter_editions
from tongjian.generator import vocab as V
from tongjian.generator.consortium import Cataloguer, Person, isbn10_check, isbn13_check

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

#: Six member libraries: the demo three plus three whose habits `style_for` derives.
EVAL_LIBRARIES: tuple[LibrarySpec, ...] = (
    LibrarySpec("SXPL", "陕西省图书馆", "cnmarc", "utf-8", "61", 0.52,
                home=("陕西", "西安", "关中", "长安", "三秦", "秦岭")),
    LibrarySpec("XYLIB", "咸阳市图书馆", "cnmarc", "gb18030", "XY", 0.39, home=("咸阳", "关中")),
    LibrarySpec("SMLIB", "神木市图书馆", "marc21", "utf-8", "SM", 0.16,
                home=("神木", "榆林", "陕北")),
    LibrarySpec("BJLIB", "宝鸡市图书馆", "cnmarc", "gb18030", "BJ", 0.30, home=("宝鸡",)),
    LibrarySpec("HZLIB", "汉中市图书馆", "cnmarc", "utf-8", "HZ", 0.22, home=("汉中",)),
    LibrarySpec("XDLIB", "西北大学图书馆", "marc21", "utf-8", "XD", 0.25, english=6.0),
)

#: Real files, grouped in families: files of one family are exports of one catalogue, so a
#: 001 seen in two of them is the same record.  Files that merely repeat another file
#: (traject = blacklight, the dp2 XML twins of the ISO file) are left out: they would add
#: only trivially equal pairs.
REAL_FILES: tuple[tuple[str, str], ...] = (
    ("dp2", "derived/dp2_cnmarc_10recs.utf8.iso"),
    ("dp2m21", "unimarc_cnmarc/dp2/sample_marcxml.xml"),
    ("lc", "marc21_cjk/yaz/marccol1.u8.marc"),
    ("lc", "marc21_cjk/yaz/marccol3.u8.marc"),
    ("lc", "marc21_cjk/yaz/marccol4.u8.marc"),
    ("lc12", "marc21_cjk/yaz/marc12.marc"),
    ("bl", "marc21_cjk/blacklight/test_data.utf8.mrc"),
    ("xbib", "marc21_cjk/xbib/IRMARC8.bin"),
    ("ol", "marc21_cjk/openlibrary/880_alternate_script.mrc"),
    ("ol", "marc21_cjk/openlibrary/880_Nihon_no_chasho.mrc"),
    ("ol", "marc21_cjk/openlibrary/710_org_name_in_direct_order.mrc"),
    ("oclc", "marc21_cjk/marc4j/oclc_63111280_export_as_UTF8_from_connexion.mrc"),
    ("austen", "marc21_cjk/marc4j/pride-and-prejudice-fixed.mrc"),
    ("austen", "marc21_cjk/marc4j/pride-and-prejudice-with-many-errors.mrc"),
    ("eg", "derived/evergreen_concerto_bibs.marcxml"),
    ("eg880", "derived/evergreen_concerto_graphic_880.marcxml"),
    ("pymarc", "marc21_general/pymarc/test.dat"),
    ("pymarc", "marc21_general/pymarc/marc.dat"),
)


@dataclass
class Labeled:
    """A record with its ground truth and how it was made (for per-category counts)."""

    record: Record
    truth: str  # records with one truth are one edition
    origin: str  # generated | real
    variants: list[str] = field(default_factory=list)  # cataloguing variants applied
    negative: str = ""  # hard-negative kind, when this edition was made as one
    negative_of: str = ""  # … and the truth it imitates
    scoped: bool = False  # scored only against `negative_of` (see `real`)

    def excluded_with(self, other: Labeled) -> bool:
        """Pairs left out of the counts: a negative made from a real record may by chance
        equal *another* real record (a 2nd edition of Pride and prejudice exists)."""
        return (self.scoped and other.truth not in (self.truth, self.negative_of)) or (
            other.scoped and self.truth not in (other.truth, other.negative_of))


@dataclass
class EvalSet:
    items: list[Labeled]
    excluded: set[frozenset[str]] = field(default_factory=set)  # unknowable truth pairs
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------ the variants

_S2T = None


def _s2t(text: str) -> str:
    global _S2T
    if _S2T is None:
        import opencc

        _S2T = opencc.OpenCC("s2t")
    return _S2T.convert(text) if text else text


_HAN = re.compile(r"[\u4e00-\u9fff]")
_FULLWIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


def _han(text: str) -> bool:
    return bool(_HAN.search(text or ""))


def v_traditional(r: Record, rng: random.Random) -> bool:
    """A Taiwan/HK-trained cataloguer, or a record copied from a traditional source."""
    if not _han(r.title):
        return False
    r.title = _s2t(r.title)
    r.title_alt = [_s2t(t) for t in r.title_alt]
    r.volume, r.edition = _s2t(r.volume), _s2t(r.edition)
    r.responsibility, r.publisher = _s2t(r.responsibility), _s2t(r.publisher)
    r.authors = [replace(a, name=_s2t(a.name)) for a in r.authors]
    return True


def v_punctuation(r: Record, rng: random.Random) -> bool:
    """Full-width forms, book-title marks, LC word-division spaces, stray ISBD marks."""
    t = r.title
    if not t:
        return False
    choice = rng.randrange(5)
    if choice == 0:
        t = f"《{t}》"
    elif choice == 1 and _han(t):
        t = "\u3000".join(t[i:i + 2] for i in range(0, len(t), 2))  # 红楼　梦 (LC style)
    elif choice == 2:
        t = t.translate(_FULLWIDTH)
    elif choice == 3:
        t = f"{t} ."
    else:
        t = f"“{t}”"
    r.title = t
    if r.publisher and rng.random() < 0.3:
        r.publisher = f"{r.publisher}\u3000"
    return True


_ROLES = ("著", "编", "主编", "编著")


def v_responsibility(r: Record, rng: random.Random) -> bool:
    """Another statement of responsibility: role first, 等, spaces, dates, roles lost."""
    if not r.authors:
        return False
    first = r.authors[0]
    role = first.role if first.role in _ROLES else rng.choice(_ROLES)
    form = rng.randrange(4)
    if form == 0:
        r.responsibility = f"{role} {first.name}"
    elif form == 1:
        r.responsibility = f"{first.name}等{role}"
    elif form == 2:
        r.responsibility = f"{first.name} {role}"
    else:
        r.responsibility = ""
    if rng.random() < 0.3:  # roles not recorded in 7XX $4
        r.authors = [replace(a, role="") for a in r.authors]
    if rng.random() < 0.15 and _han(first.name):  # dates typed into the heading
        r.authors[0] = replace(r.authors[0], name=f"{first.name} (1950- )")
    return True


def v_pinyin(r: Record, rng: random.Random) -> bool:
    """Pinyin as another library writes it (the matcher must not depend on it)."""
    r.title_pinyin = r.title_pinyin.replace(" ", "").lower() if rng.random() < 0.5 else ""
    r.authors = [replace(a, pinyin=a.pinyin.upper()) for a in r.authors]
    return True


def v_subtitle(r: Record, rng: random.Random, other: str = "") -> bool:
    """Other title information in the title (MARC 21 245 $b, or typed into 200 $a) or
    left out altogether."""
    if " : " in r.title:
        r.title = r.title.split(" : ")[0]
        return True
    sub = other or (r.title_alt[0] if r.title_alt and _han(r.title_alt[0]) == _han(r.title)
                    else "")
    if not sub:
        return False
    if rng.random() < 0.5:
        r.title = f"{r.title}：{sub}" if _han(r.title) else f"{r.title} : {sub}"
    r.title_alt = [t for t in r.title_alt if t != sub]
    return True


def v_publisher(r: Record, rng: random.Random) -> bool:
    """The publisher with or without 出版社 / 有限公司 / Books / Press / Inc."""
    p = r.publisher
    if not p:
        return False
    if _han(p):
        if p.endswith("出版社") and rng.random() < 0.5:
            p = p + rng.choice(("有限公司", "有限责任公司"))
        elif p.endswith("出版社"):
            p = p[:-3] + "出版社出版" if rng.random() < 0.3 else p.replace("出版社", "社")
        else:
            p = p + "有限公司"
    else:
        for word in (" Books", " Press", ", Inc.", " Publishing"):
            if p.endswith(word):
                p = p[: -len(word)]
                break
        else:
            p = p + rng.choice((" Books", ", Inc.", " Publishers"))
    r.publisher = p
    return True


def v_no_isbn(r: Record, rng: random.Random) -> bool:
    if not r.isbn and not r.isbn_invalid:
        return False
    r.isbn, r.isbn_invalid = [], []
    return True


def v_bad_check_digit(r: Record, rng: random.Random) -> bool:
    """The ISBN typed with a wrong check digit (as ISBN-13 or ISBN-10)."""
    if not r.isbn:
        return False
    good = r.isbn[0]
    if good.startswith("978") and rng.random() < 0.5:
        text = good[3:12]
        text += str((int(isbn10_check(text).replace("X", "10")) + 1 + rng.randrange(8)) % 10)
    else:
        text = good[:12] + str((int(good[12]) + 1 + rng.randrange(8)) % 10)
    r.isbn = r.isbn[1:]
    add_isbns(r, [text], [])
    return True


def v_isbn10(r: Record, rng: random.Random) -> bool:
    """The ISBN entered in its 10-digit form (goes through the crosswalk's conversion)."""
    if not r.isbn or not r.isbn[0].startswith("978"):
        return False
    nine = r.isbn[0][3:12]
    r.isbn = r.isbn[1:]
    add_isbns(r, [f"{nine[0]}-{nine[1:4]}-{nine[4:]}-{isbn10_check(nine)}"], [])
    return True


def v_year_off_by_one(r: Record, rng: random.Random) -> bool:
    """The printing year (or the copyright year) recorded instead of the imprint year."""
    if r.year is None:
        return False
    r.year += rng.choice((-1, 1))
    return True


def v_title_typo(r: Record, rng: random.Random) -> bool:
    """One character mistyped (a homophone from a pinyin IME, a missed key)."""
    t = r.title
    positions = [i for i, c in enumerate(t) if c.isalpha()]
    if len(positions) < 2:
        return False
    i = rng.choice(positions)
    pool = "的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会"
    c = rng.choice(pool) if _han(t[i]) else rng.choice("abcdefghijklmnopqrstuvwxyz")
    if c == t[i]:
        return False
    r.title = t[:i] + c + t[i + 1:]
    return True


def v_volume_in_title(r: Record, rng: random.Random) -> bool:
    """The part number typed into the title instead of 200 $h / 245 $n."""
    if not r.volume or not _han(r.title):
        return False
    r.title, r.volume = f"{r.title}{r.volume}", ""
    return True


def v_no_author(r: Record, rng: random.Random) -> bool:
    """No 7XX access points (only the transcribed statement)."""
    if not r.authors:
        return False
    r.authors = []
    return True


def v_no_year(r: Record, rng: random.Random) -> bool:
    if r.year is None:
        return False
    r.year = None
    return True


def v_first_edition_stated(r: Record, rng: random.Random) -> bool:
    """"第1版" written by one library, nothing by another."""
    if r.edition:
        return False
    r.edition = "第1版" if _han(r.title) else "1st ed."
    return True


#: (name, probability per record, function): the cataloguing variants of the issue.
VARIANTS: tuple[tuple[str, float, Callable[[Record, random.Random], bool]], ...] = (
    ("no_isbn", 0.12, v_no_isbn),
    ("isbn10", 0.10, v_isbn10),
    ("bad_check_digit", 0.03, v_bad_check_digit),
    ("traditional", 0.12, v_traditional),
    ("punctuation", 0.15, v_punctuation),
    ("responsibility", 0.15, v_responsibility),
    ("pinyin", 0.15, v_pinyin),
    ("subtitle", 0.20, v_subtitle),
    ("publisher_form", 0.10, v_publisher),
    ("first_edition_stated", 0.08, v_first_edition_stated),
    ("volume_in_title", 0.25, v_volume_in_title),
    ("no_author", 0.03, v_no_author),
    ("year_off_by_one", 0.015, v_year_off_by_one),
    ("no_year", 0.01, v_no_year),
    ("title_typo", 0.01, v_title_typo),
)


def apply_variants(r: Record, rng: random.Random, at_least: int = 0) -> list[str]:
    """Apply each variant with its probability (at least `at_least` of them)."""
    applied: list[str] = []
    for name, p, fn in VARIANTS:
        if rng.random() < p and fn(r, rng):
            applied.append(name)
    tries = 0
    while len(applied) < at_least and tries < 20:
        tries += 1
        name, _, fn = rng.choice(VARIANTS)
        if name not in applied and name not in ("title_typo", "year_off_by_one") and fn(r, rng):
            applied.append(name)
    return applied


# --------------------------------------------------------------- generated: the universe


class _FreshIsbn:
    """ISBNs under the registrant 978-7-999, which no press in the vocabulary uses, so a
    made-up edition never collides with a generated one."""

    def __init__(self) -> None:
        self.n = 0

    def take(self) -> tuple[str, str]:
        self.n += 1
        registrant = ("999", "998", "997")[self.n // 100_000]
        first12 = f"9787{registrant}{self.n % 100_000:05d}"
        return first12 + isbn13_check(first12), f"978-7-{registrant}"


def _cataloguer(seed: int, spec: LibrarySpec) -> Cataloguer:
    if spec.flavour == "cnmarc":
        from tongjian.generator.cnmarc import CnmarcCataloguer

        return CnmarcCataloguer(seed, spec, 0.0)
    from tongjian.generator.marc21 import Marc21Cataloguer

    return Marc21Cataloguer(seed, spec, 0.0)


def _parse(raw: bytes, spec: LibrarySpec, sid: str) -> tuple[Record, list[str]]:
    """Bytes → Record through the project's reader and crosswalk; plus what the
    generator's cataloguer did that a matcher must cope with (for the breakdown)."""
    parsed = next(iter(read(raw)))
    assert parsed.marc is not None, parsed.error
    rec = to_record(parsed.marc, spec.code, spec.code, sid)
    rec.source_id = sid  # 001s of different libraries may coincide; keys must not
    notes = [spec.flavour]
    tag = "010" if spec.flavour == "cnmarc" else "020"
    texts = [f.get("a") for f in parsed.marc.get(tag)]
    if any(len(re.sub(r"[^0-9Xx]", "", t)) == 10 for t in texts):
        notes.append("gen:isbn10")
    if rec.isbn_invalid:
        notes.append("gen:isbn_typo")
    return rec, notes


def _person(rng: random.Random, role: str) -> Person:
    sname = rng.choice(V.SURNAMES)[0]
    given = "".join(rng.choice(V.GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))
    return Person(sname + given, role)


def _next_edition_statement(ed: Edition) -> str:
    from harvest.matching import edition_key

    current = edition_key(ed.edition_stmt)
    n = int(current) + 1 if current.isdigit() else 2
    if ed.lang == "eng":
        return {2: "2nd ed.", 3: "3rd ed."}.get(n, f"{n}th ed.")
    return f"第{n}版" if n > 2 or ed.edition_stmt else ("第2版" if ed.year % 2 else "修订版")


#: Hard negatives: (kind, probability per edition).  Each is a *different* edition that
#: looks like `ed`, catalogued by one or two libraries with the same habits.
NEGATIVES: tuple[tuple[str, float], ...] = (
    ("other_edition", 0.04),  # 第2版 / 修订版 / 2nd ed., later year, own ISBN (or none)
    ("reprint_year", 0.04),  # same title/author/publisher, 1–3 years later, own ISBN
    ("other_author", 0.04),  # same title, another author — same press and year
    ("other_title", 0.03),  # same author, press and year, another title
)


#: 一号多书: another book — another title sharing the generic word at its end (概论, 教程,
#: 研究), another author — under the ISBN of `ed`, same press and year.  Drawn from a
#: random stream of their own and catalogued by cataloguers of their own, after every
#: other record, so the rest of the set is exactly what it was without them: figures
#: before and after stay comparable.
REUSED_ISBN = 0.03


def _reused_isbn(ed: Edition, rng: random.Random, by_suffix: dict[str, list[str]],
                 n: int) -> Edition | None:
    """The other book under `ed`'s ISBN, or None when `ed` has no ISBN or no generic word
    another title shares.  Titles of the same length are preferred: 区域概论 / 形势概论
    share half their characters, which is what let them through."""
    title = ed.title
    if ed.lang != "chi" or not ed.isbn13 or len(title) < 3 or not _han(title):
        return None
    others = [t for t in by_suffix.get(title[-2:], ()) if t != title and not t.startswith(title)
              and not title.startswith(t)]
    if not others:
        return None
    same_length = [t for t in others if len(t) == len(title)]
    other = rng.choice(same_length if same_length and rng.random() < 0.7 else others)
    first = ed.persons[0].role if ed.persons else "著"
    person = _person(rng, first if first in _ROLES else "著")
    if ed.persons and person.name == ed.persons[0].name:
        return None
    return replace(ed, key=f"reuse{n}:reused_isbn:{ed.key}", title=other, other="",
                   persons=(person,))


def _negative(kind: str, ed: Edition, rng: random.Random, fresh: _FreshIsbn,
              titles: list[str], n: int) -> Edition:
    has_isbn = bool(ed.isbn13) and rng.random() < 0.7
    isbn, prefix = fresh.take() if has_isbn else ("", "")
    new = replace(ed, key=f"neg{n}:{kind}:{ed.key}", isbn13=isbn, isbn_prefix=prefix)
    if kind == "other_edition":
        new = replace(new, edition_stmt=_next_edition_statement(ed),
                      year=min(ed.year + rng.choice((1, 2, 3, 5)), 2024))
    elif kind == "reprint_year":
        new = replace(new, year=min(ed.year + rng.choice((1, 2, 3)), 2024))
        if new.year == ed.year:
            new = replace(new, year=ed.year - 1)
    elif kind == "other_author":
        first = ed.persons[0].role if ed.persons else "著"
        if ed.lang == "eng":
            person = Person(f"{rng.choice(V.EN_SURNAMES)}, {rng.choice(V.EN_FORENAMES)}",
                            "著", western=True)
        else:
            person = _person(rng, first if first in _ROLES else "著")
        new = replace(new, persons=(person,))
    elif kind == "other_title":
        other = rng.choice(titles)
        new = replace(new, title=other if other != ed.title else other + "新论", other="")
    return new


def _facts(ed: Edition) -> tuple[object, ...]:
    first = ed.persons[0].name if ed.persons else ""
    return (ed.title, ed.other, first, ed.publisher, ed.year, ed.edition_stmt, ed.part_no,
            ed.part_name, ed.lang)


def _twins(editions: list[tuple[Edition, list[str]]]) -> set[frozenset[str]]:
    """Editions the generator made identical in every described fact but the ISBN (two
    slots drew the same classic, press and year): without the ISBN no one can tell
    them apart, so their pairs are left out of the counts."""
    seen: dict[tuple[object, ...], list[str]] = {}
    for ed, _ in editions:
        seen.setdefault(_facts(ed), []).append(ed.key)
    out: set[frozenset[str]] = set()
    for keys in seen.values():
        for i, x in enumerate(keys):
            for y in keys[i + 1:]:
                out.add(frozenset((x, y)))
    return out


def generated(size: int, seed: int = 7, libraries: tuple[LibrarySpec, ...] = EVAL_LIBRARIES,
              variants: bool = True) -> tuple[list[Labeled], set[frozenset[str]]]:
    """Generated editions (`size` slots) as every holding library catalogues them, plus
    the pairs of editions no description can tell apart (see `_twins`)."""
    rng = random.Random(seed)  # noqa: S311 — reproducible test data, not secrets
    cats = {s.code: _cataloguer(seed, s) for s in libraries}
    specs = {s.code: s for s in libraries}
    fresh = _FreshIsbn()
    editions = list(iter_editions(seed, libraries, size))
    titles = [ed.title for ed, _ in editions if ed.lang == "chi"]
    out: list[Labeled] = []
    counter = 0
    set_isbn: dict[int, str] = {}  # slot → the set ISBN printed on every volume
    reuse_rng = random.Random(seed * 7919 + 1)  # noqa: S311 — reproducible test data
    by_suffix: dict[str, list[str]] = {}
    for t in dict.fromkeys(titles):
        if len(t) >= 3:
            by_suffix.setdefault(t[-2:], []).append(t)
    reused: list[tuple[Edition, str]] = []
    for ed, _ in editions:
        if ed.nvol > 1 and ed.slot not in set_isbn and rng.random() < 0.5:
            set_isbn[ed.slot] = fresh.take()[0]

    def catalogue(e: Edition, codes: list[str], negative: str = "", of: str = "",
                  rng: random.Random = rng, cats: dict[str, Cataloguer] = cats,
                  prefix: str = "g") -> None:
        nonlocal counter
        for code in codes:
            counter += 1
            rec, notes = _parse(cats[code].record(e), specs[code], f"{prefix}{counter}")
            if variants:
                notes += apply_variants(rec, rng)
            if e.slot in set_isbn and e.vol and rng.random() < 0.7:
                # A set ISBN: on every volume, sometimes instead of the volume's own.
                if rng.random() < 0.4:
                    rec.isbn, rec.isbn_invalid = [], []
                rec.isbn = sorted(set(rec.isbn) | {set_isbn[e.slot]})
                notes.append("set_isbn")
            out.append(Labeled(rec, e.key, "generated", notes, negative, of))

    n_neg = 0
    for ed, codes in editions:
        catalogue(ed, codes)
        if ed.vol:
            continue  # sets have their natural hard negatives: the other volumes
        for kind, p in NEGATIVES:
            if rng.random() < p:
                n_neg += 1
                neg = _negative(kind, ed, rng, fresh, titles, n_neg)
                holders = rng.sample([s.code for s in libraries], rng.choice((1, 1, 2)))
                catalogue(neg, holders, kind, ed.key)
        if reuse_rng.random() < REUSED_ISBN:
            other = _reused_isbn(ed, reuse_rng, by_suffix, len(reused) + 1)
            if other is not None:
                reused.append((other, ed.key))
    reuse_cats = {s.code: _cataloguer(seed * 7919 + 2, s) for s in libraries}
    counter = 0
    for other, of in reused:
        holders = reuse_rng.sample([s.code for s in libraries], reuse_rng.choice((1, 1, 2)))
        catalogue(other, holders, "reused_isbn", of, reuse_rng, reuse_cats, "u")
    return out, _twins(editions)


# ------------------------------------------------------------------------ real records


def _load_real(root: Path) -> list[tuple[str, str, Record]]:
    """(family, file, record) for every readable record with a title."""
    out: list[tuple[str, str, Record]] = []
    for family, rel in REAL_FILES:
        path = root / rel
        if not path.exists():
            continue
        for parsed in read(path.read_bytes()):
            if parsed.marc is None:
                continue
            try:
                rec = to_record(parsed.marc, family, family, f"#{parsed.position}")
            except Exception:  # noqa: BLE001, S112 — a record the crosswalk rejects is skipped
                continue
            if rec.title:
                rec.source = f"{family}.{Path(rel).stem}"
                rec.source_id = f"{rec.source_id}@{parsed.position}"
                out.append((family, rel, rec))
    return out


def _unknowable(recs: list[tuple[Record, str]], m: dict) -> set[frozenset[str]]:
    """Pairs of records with different truth that no one could label from the data:
    same title and year, same first author or none, and no two different ISBNs."""
    groups: dict[tuple[str, int | None], list[tuple[Record, str]]] = {}
    for rec, truth in recs:
        groups.setdefault((m[rec.key].title, rec.year), []).append((rec, truth))
    out: set[frozenset[str]] = set()
    for group in groups.values():
        for i, (x, tx) in enumerate(group):
            for y, ty in group[i + 1:]:
                if tx == ty:
                    continue
                mx, my = m[x.key], m[y.key]
                isbn_conflict = mx.isbns and my.isbns and not set(mx.isbns) & set(my.isbns)
                authors_differ = mx.author and my.author and mx.author != my.author
                if not isbn_conflict and not authors_differ:
                    out.add(frozenset((tx, ty)))
    return out


def _truth_id(family: str, rec: Record) -> str:
    return f"real:{family}:{rec.source_id.rsplit('@', 1)[0]}"


def real(root: Path = SHARED_DATA, seed: int = 11) -> tuple[list[Labeled], set[frozenset[str]]]:
    """Real records, a variant copy of each, and hard negatives derived from them."""
    rng = random.Random(seed)  # noqa: S311 — reproducible test data, not secrets
    loaded = _load_real(root)
    items: list[Labeled] = []
    for family, _, rec in loaded:
        items.append(Labeled(rec, _truth_id(family, rec), "real", [f"real:{family}"]))
    # Pairs we cannot label: different 001s, but the same title, year and first author
    # with no ISBN saying otherwise — a duplicate record, or two printings?
    from harvest.matching import MatchRecord

    excluded = _unknowable([(it.record, it.truth) for it in items],
                           {it.record.key: MatchRecord.from_record(it.record) for it in items})
    # (excluded holds pairs of truths: every record of either edition is concerned)
    originals = list(items)
    seen_truth: set[str] = set()
    n = 0
    for it in originals:
        if it.truth in seen_truth:
            continue
        seen_truth.add(it.truth)
        n += 1
        # Another library's record of the same edition.
        twin = copy.deepcopy(it.record)
        twin.source, twin.source_id = "realvar", f"v{n}"
        twin.library = "OTHER"
        applied = apply_variants(twin, rng, at_least=2)
        items.append(Labeled(twin, it.truth, "real", [*applied, "real:variant"]))
        base = it.record
        r = rng.random()
        if r < 0.25 and not base.volume:  # two volumes of a set, both with this ISBN
            for v in (1, 2):
                vol = copy.deepcopy(base)
                vol.source, vol.source_id = "realneg", f"vol{n}.{v}"
                vol.volume = (f"第{v}册" if _han(base.title) else f"v. {v}")
                items.append(Labeled(vol, f"{it.truth}#vol{v}", "real", ["set_isbn"],
                                     "other_volume", it.truth, scoped=True))
        elif r < 0.45:  # another edition, later, without ISBN or with its own
            ed = copy.deepcopy(base)
            ed.source, ed.source_id = "realneg", f"ed{n}"
            m = re.search(r"\d+", base.edition)
            k = int(m.group()) + 1 if m else 2
            ed.edition = f"第{k}版" if _han(base.title) else f"{k}th ed." if k > 3 else (
                "2nd ed." if k == 2 else "3rd ed.")
            ed.year = (base.year or 2000) + rng.choice((1, 2, 4))
            ed.isbn, ed.isbn_invalid = [], []
            items.append(Labeled(ed, f"{it.truth}#ed2", "real", [], "other_edition", it.truth,
                                 scoped=True))
        elif r < 0.65:  # the same title by someone else, same press and year, no ISBN
            other = copy.deepcopy(base)
            other.source, other.source_id = "realneg", f"au{n}"
            name = _person(rng, "著").name if _han(base.title) else (
                f"{rng.choice(V.EN_SURNAMES)}, {rng.choice(V.EN_FORENAMES)}")
            other.authors = [Author(name, "著")]
            other.responsibility = f"{name}著" if _han(base.title) else f"by {name}"
            other.isbn, other.isbn_invalid = [], []
            items.append(Labeled(other, f"{it.truth}#au", "real", [], "other_author", it.truth,
                                 scoped=True))
        elif r < 0.8:  # a reprint two years later, no ISBN
            again = copy.deepcopy(base)
            again.source, again.source_id = "realneg", f"rp{n}"
            again.year = (base.year or 2000) + 2
            again.isbn, again.isbn_invalid = [], []
            items.append(Labeled(again, f"{it.truth}#rp", "real", [], "reprint_year",
                                 it.truth, scoped=True))
    return items, excluded


def build(size: int = 4000, seed: int = 7, root: Path = SHARED_DATA,
          with_real: bool = True) -> EvalSet:
    """The whole labeled set: `size` generated edition slots plus the real records."""
    items, excluded = generated(size, seed)
    notes: list[str] = []
    if with_real:
        if root.exists():
            real_items, real_excluded = real(root, seed + 4)
            excluded |= real_excluded
            # The generator prints a few real ISBNs (Penguin's Pride and prejudice): a
            # generated record and a real one with the same ISBN cannot be labeled.
            by_isbn: dict[str, list[Labeled]] = {}
            for it in real_items:
                for isbn in it.record.isbn:
                    by_isbn.setdefault(isbn, []).append(it)
            for it in items:
                for isbn in it.record.isbn:
                    for other in by_isbn.get(isbn, ()):
                        excluded.add(frozenset((it.truth, other.truth)))
            items += real_items
        else:
            notes.append(f"real data not found at {root}: generated records only")
    keys = [it.record.key for it in items]
    assert len(keys) == len(set(keys)), "record keys must be unique"
    return EvalSet(items, excluded, notes)


def iter_scale_records(n: int, seed: int = 3) -> Iterator[tuple[Record, str, int]]:
    """About `n` (record, truth, facts hash) for the speed run, straight from editions
    (no MARC round trip: the point is the matcher's time and memory at 10^6).  Editions
    with one facts hash differ only by ISBN (see `_twins`)."""
    libs = tuple(
        LibrarySpec(f"L{i:02d}", f"馆{i}", "cnmarc" if i % 4 else "marc21", "utf-8",
                    f"{i:02d}", 0.05 + 0.4 * ((i * 37) % 11) / 10)
        for i in range(30))
    rng = random.Random(seed)  # noqa: S311 — reproducible test data, not secrets
    made = 0
    slots = max(1000, n // 3)
    for ed, codes in iter_editions(seed, libs, slots):
        for code in codes:
            made += 1
            rec = Record(
                source=code, source_id=str(made), library=code, title=ed.title,
                volume=" ".join(p for p in (ed.part_no, ed.part_name) if p),
                authors=[Author(p.name, p.role) for p in ed.persons],
                responsibility="".join(f"{p.name}{p.role}" for p in ed.persons[:2]),
                publisher=ed.publisher, year=ed.year, edition=ed.edition_stmt,
                isbn=[ed.isbn13] if ed.isbn13 and rng.random() > 0.1 else [],
                language=ed.lang, material_type="book")
            if rng.random() < 0.2:
                apply_variants(rec, rng)
            yield rec, ed.key, hash(_facts(ed))
            if made >= n:
                return
