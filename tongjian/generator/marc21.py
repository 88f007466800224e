"""MARC 21 records the way a US or university library catalogues Chinese books.

Headings and transcriptions are in ALA-LC pinyin romanization; the vernacular Chinese sits
in 880 fields linked both ways through $6 (`100 $6880-01` ↔ `880 $6100-01/$1`), which is
what the crosswalk must reassemble.  English-language books get no 880s.  Classification is
CLC in 084 $2 clc (plus LCC in 050 for English books); items are Koha 952s.
"""

from __future__ import annotations

from harvest.iso2709 import write
from tongjian.generator import vocab as V
from tongjian.generator.consortium import Cataloguer, Edition, Person, alalc, char_pinyin

Subfields = list[tuple[str, str]]

_COUNTRY = {"London": "enk", "Oxford": "enk", "Ware": "enk", "Cambridge": "enk",
            "New York": "nyu", "Sebastopol, CA": "cau", "Boston": "mau",
            "Cambridge, MA": "mau", "Cham": "sz ", "Shelter Island, NY": "nyu",
            "San Francisco": "cau", "Hoboken, NJ": "nju"}
_ITEM_TYPE = {"english": "FBK", "children": "CHILD", "local": "LOCAL"}


def _nonfiling(title: str) -> str:
    for article in ("The ", "A ", "An "):
        if title.startswith(article):
            return str(len(article))
    return "0"


def _roman_syllables(syl: tuple[str, ...]) -> str:
    """Join syllables of one name part, with the apostrophe ALA-LC uses (Xi'an, Yan'an)."""
    out = ""
    for s in syl:
        s = s.replace("v", "ü")
        if out and s[:1] in ("a", "e", "o"):
            out += "'"
        out += s
    return out


def roman_name(p: Person) -> str:
    """'Lu, Yao' — the inverted ALA-LC heading for a Chinese personal name."""
    if p.latin:
        return p.latin
    if p.western:
        return p.name
    sur = _roman_syllables(p.syllables[:p.surname_len]).capitalize()
    given = _roman_syllables(p.syllables[p.surname_len:]).capitalize()
    return f"{sur}, {given}" if given else sur


def roman_direct(p: Person) -> str:
    """'Lu Yao' — the same name in direct order, as in a transcribed 245 $c."""
    if p.western:
        sur, _, fore = p.name.partition(", ")
        return f"{fore} {sur}".strip()
    if p.latin or p.corporate or not p.syllables:
        return alalc(p.name.replace("·", ""))
    sur = _roman_syllables(p.syllables[:p.surname_len]).capitalize()
    given = _roman_syllables(p.syllables[p.surname_len:]).capitalize()
    return f"{sur} {given}".strip()


def _lcsh(heading: str) -> Subfields:
    parts = heading.split("--")
    sub: Subfields = [("a", parts[0])]
    for part in parts[1:]:
        if part in ("Fiction", "Drama", "Juvenile fiction", "Allegories"):
            code = "v"
        elif part[:1].isdigit() or part.startswith("Revolution"):
            code = "y"
        elif part in ("England", "Massachusetts", "Denmark", "New England", "China", "Cuba"):
            code = "z"
        else:
            code = "x"
        sub.append((code, part))
    sub[-1] = (sub[-1][0], sub[-1][1] + ".")
    return sub


class Marc21Cataloguer(Cataloguer):
    """Turns editions into this library's MARC 21 records (UTF-8, leader/09 = a)."""

    def record(self, ed: Edition) -> bytes:
        rng, st = self.rng, self.style
        entered, stamp = self.dates(ed)
        chinese = ed.lang == "chi"
        rda = int(entered[:4]) >= 2014 and rng.random() < 0.85
        utf8 = self.spec.encoding == "utf-8"
        status = "n" if rng.random() < 0.9 else "c"
        enc_level = " " if rng.random() < 0.7 else "7"
        scheme = "a" if utf8 else " "
        leader = f"00000{status}am {scheme}2200000{enc_level}{'i' if rda else 'a'} 4500"

        fields: list[tuple[str, str, Subfields | str]] = []
        linked: list[tuple[str, str, Subfields]] = []  # 880s, in link order
        seq = 0

        def link(tag: str, ind: str, roman: Subfields, vernacular: Subfields) -> None:
            nonlocal seq
            seq += 1
            occ = f"{seq:02d}"
            fields.append((tag, ind, [("6", f"880-{occ}"), *roman]))
            linked.append(("880", ind, [("6", f"{tag}-{occ}/$1"), *vernacular]))

        fields.append(("001", "", self.next_id(int(entered[:4]))))
        fields.append(("003", "", self.agency))
        fields.append(("005", "", stamp))
        fields.append(("008", "", self._field008(ed, entered)))

        if ed.isbn13 and rng.random() >= st.isbn_omit:
            sub: Subfields = [("a", self.isbn_text(ed, hyphen_share=0.0))]
            if chinese and rng.random() < 0.6:
                sub[0] = (sub[0][0], sub[0][1] + " :")
                sub.append(("c", f"{'RMB' if rng.random() < 0.5 else 'CNY'}{ed.price}"))
            elif rng.random() < 0.3:
                sub.append(("q", "paperback" if rda else "(pbk.)"))
            fields.append(("020", "  ", sub))
        fields.append(("040", "  ", [("a", self.agency), ("b", "eng")] +
                       ([("e", "rda")] if rda else []) + [("c", self.agency)]))
        if ed.orig_lang:
            fields.append(("041", "1 ", [("a", "chi"), ("h", ed.orig_lang)]))
        if ed.lcc:
            initial = ed.persons[0].name[:1].upper() if ed.persons else ed.title[:1].upper()
            cutter = f".{initial}{rng.randrange(2, 99)}"
            fields.append(("050", " 4", [("a", ed.lcc), ("b", f"{cutter} {ed.year}".strip())]))
        clc = self.clc(ed)
        fields.append(("084", "  ", [("a", clc), ("2", "clc")]))

        main = [p for p in ed.persons if p.role == (ed.persons[0].role if ed.persons else "")]
        has_main = bool(main) and main[0].role in ("著", "撰", "续", "文") or (
            bool(main) and main[0].corporate)
        added = [p for p in ed.persons if not (has_main and p is main[0])]
        if has_main:
            self._heading(main[0], "1", rda, link, fields)

        title_roman, title_vern = self._title(ed, rda)
        ind245 = ("1" if has_main else "0") + (_nonfiling(ed.title) if not chinese else "0")
        if chinese:
            link("245", ind245, title_roman, title_vern)
        else:
            fields.append(("245", ind245, title_roman))
        if ed.edition_stmt:
            if chinese:
                link("250", "  ", [("a", f"{alalc(ed.edition_stmt)}.")],
                     [("a", f"{ed.edition_stmt}.")])
            else:
                fields.append(("250", "  ", [("a", ed.edition_stmt)]))
        self._publication(ed, rda, link, fields)
        fields.append(("300", "  ", self._field300(ed, rda)))
        if rda:
            fields.append(("336", "  ", [("a", "text"), ("b", "txt"), ("2", "rdacontent")]))
            fields.append(("337", "  ", [("a", "unmediated"), ("b", "n"), ("2", "rdamedia")]))
            fields.append(("338", "  ", [("a", "volume"), ("b", "nc"), ("2", "rdacarrier")]))
        if ed.series:
            if chinese:
                link("490", "0 ", [("a", alalc(ed.series))], [("a", ed.series)])
            else:
                fields.append(("490", "0 ", [("a", ed.series)]))
        if ed.summary and not chinese and rng.random() < st.summary:
            fields.append(("520", "  ", [("a", ed.summary)]))

        if chinese:
            for subject in ed.subjects:
                fields.append(("650", " 7", self._cct(subject)))
            if ed.lit_form == "a" and ed.clc.startswith("I2") and rng.random() < 0.5:
                century = "20th century" if ed.year < 2001 else "21st century"
                fields.append(("650", " 0", [("a", "Chinese fiction"), ("y", f"{century}.")]))
        else:
            for heading in ed.lcsh:
                fields.append(("650", " 0", _lcsh(heading)))

        for p in added:
            self._heading(p, "7", rda, link, fields)

        fields.extend(linked)
        number, call = self.shelf(ed, clc)
        for it in self.items(ed, entered):
            fields.append(("952", "  ", self._item(ed, it, call)))
        fields.sort(key=lambda f: f[0])  # stable: keeps link order among equal tags
        return write(leader, fields, self.spec.encoding)

    # ------------------------------------------------------------------------- pieces
    def _field008(self, ed: Edition, entered: str) -> str:
        place = "cc " if ed.country == "CN" else _COUNTRY.get(ed.place, "xx ")
        illus = "a   " if ed.illus else "    "
        audience = "j" if ed.children else " "
        contents = "b   " if ed.kind == "academic" and ed.slot % 3 == 0 else "    "
        index = "1" if ed.kind in ("textbook", "yearbook") else "0"
        lit = {"a": "1", "g": "p", "c": "e"}.get(ed.lit_form, "0")
        lang = "chi" if ed.lang == "chi" else "eng"
        value = (f"{entered[2:8]}s{ed.year:04d}    {place}{illus}{audience} {contents} "
                 f"00{index} {lit} {lang} d")
        assert len(value) == 40, (value, len(value))
        return value

    def _heading(self, p: Person, kind: str, rda: bool, link, fields) -> None:  # noqa: ANN001
        """1XX (kind '1') or 7XX (kind '7'); linked to an 880 for Chinese-script names."""
        relator = V.ROLE_RELATOR.get(p.role, "")
        if p.corporate:
            tag = "110" if kind == "1" else "710"
            roman: Subfields = [("a", alalc(p.name) + ("," if rda and relator else "."))]
            vern: Subfields = [("a", p.name + ("," if rda and relator else "."))]
            if rda and relator:
                roman.append(("e", f"{relator}."))
                vern.append(("e", f"{relator}."))
            link(tag, "2 ", roman, vern)
            return
        tag = "100" if kind == "1" else "700"
        name = roman_name(p)
        roman = [("a", name)]
        if p.dates:
            roman[0] = ("a", f"{name},")
            roman.append(("d", p.dates + ("," if rda and relator else ".")))
        elif rda and relator:
            roman[0] = ("a", f"{name},")
        else:
            roman[0] = ("a", f"{name}." if not name.endswith(".") else name)
        if rda and relator:
            roman.append(("e", f"{relator}."))
        if p.western or p.latin:
            fields.append((tag, "1 ", roman))
            return
        vern = [("a", self.person_name(p) + ("," if rda and relator else "."))]
        if rda and relator:
            vern.append(("e", f"{relator}."))
        link(tag, "1 " if p.surname_len else "0 ", roman, vern)

    def _statement(self, ed: Edition) -> tuple[str, str]:
        """245 $c romanized and in Chinese: "Lu Yao zhu" / "路遥著"."""
        groups: list[tuple[str, list[Person]]] = []
        for p in ed.persons:
            if groups and groups[-1][0] == p.role:
                groups[-1][1].append(p)
            else:
                groups.append((p.role, [p]))
        roman, vern = [], []
        for role, people in groups:
            shown = people[:3]
            etc_r = " ... [et al.]" if len(people) > 3 else ""
            etc_v = "...[等]" if len(people) > 3 else ""
            if ed.lang == "eng":
                roman.append(", ".join(roman_direct(p) for p in shown) + etc_r)
                continue
            prefix = f"({alalc(shown[0].prefix)}) " if shown[0].prefix else ""
            role_py = V.ROLE_PINYIN.get(role, " ".join(char_pinyin(c) for c in role))
            roman.append(prefix + ", ".join(roman_direct(p) for p in shown) + etc_r
                         + f" {role_py}")
            vern.append((f"({shown[0].prefix})" if shown[0].prefix else "")
                        + "，".join(self.person_name(p) for p in shown) + etc_v + role)
        return " ; ".join(roman), " ; ".join(vern)

    def _title(self, ed: Edition, rda: bool) -> tuple[Subfields, Subfields]:
        chinese = ed.lang == "chi"
        stmt_r, stmt_v = self._statement(ed)
        roman: Subfields = []
        vern: Subfields = []
        main_r = alalc(ed.title) if chinese else ed.title
        pieces_r: list[tuple[str, str]] = [("a", main_r)]
        pieces_v: list[tuple[str, str]] = [("a", ed.title)]
        if ed.other:
            pieces_r.append(("b", alalc(ed.other) if chinese else ed.other))
            pieces_v.append(("b", ed.other))
        if ed.part_no:
            pieces_r.append(("n", alalc(ed.part_no) if chinese else ed.part_no))
            pieces_v.append(("n", ed.part_no))
        if ed.part_name:
            pieces_r.append(("p", alalc(ed.part_name) if chinese else ed.part_name))
            pieces_v.append(("p", ed.part_name))
        for out, pieces, stmt in ((roman, pieces_r, stmt_r), (vern, pieces_v, stmt_v)):
            for i, (code, text) in enumerate(pieces):
                nxt = pieces[i + 1][0] if i + 1 < len(pieces) else ("c" if stmt else "")
                end = {"b": " :", "n": ".", "p": ",", "c": " /", "": "."}[nxt]
                if nxt == "p" and code == "n":
                    end = ","
                out.append((code, text + end))
            if stmt:
                out.append(("c", stmt + "."))
        return roman, vern

    def _publication(self, ed: Edition, rda: bool, link, fields) -> None:  # noqa: ANN001
        tag, ind = ("264", " 1") if rda else ("260", "  ")
        chinese_pub = ed.country == "CN" and ed.place in V.CITIES
        date = f"{ed.year}."
        if chinese_pub and ed.lang != "chi":  # an English book from a Chinese press
            fields.append((tag, ind, [("a", f"{V.CITIES[ed.place][1]} :"),
                                      ("b", f"{V.EN_IMPRINTS.get(ed.publisher, ed.publisher)},"),
                                      ("c", date)]))
        elif chinese_pub:
            pub = next((p for p in V.PUBLISHERS if p.name == ed.publisher), None)
            place_r = V.CITIES[ed.place][1]
            pub_r = pub.roman if pub else (alalc(ed.publisher) if ed.publisher else "")
            pub_v = ed.publisher
            if not pub_r:
                pub_r = pub_v = "[publisher not identified]" if rda else "[s.n.]"
            roman = [("a", f"{place_r} :"), ("b", f"{pub_r},"), ("c", date)]
            vern = [("a", f"{ed.place} :"), ("b", f"{pub_v},"), ("c", date)]
            link(tag, ind, roman, vern)
        else:
            fields.append((tag, ind, [("a", f"{ed.place} :"), ("b", f"{ed.publisher},"),
                                      ("c", date)]))

    def _field300(self, ed: Edition, rda: bool) -> Subfields:
        if ed.volumes_in_record > 1:
            extent = (f"{ed.volumes_in_record} volumes ({ed.pages} pages)" if rda
                      else f"{ed.volumes_in_record} v. ({ed.pages} p.)")
        else:
            extent = f"{ed.pages} pages" if rda else f"{ed.pages} p."
        sub: Subfields = [("a", extent + (" :" if ed.illus else " ;"))]
        if ed.illus:
            sub.append(("b", ("illustrations" if rda else "ill.") + " ;"))
        sub.append(("c", f"{ed.cm} cm" + ("" if rda else ".")))
        return sub

    @staticmethod
    def _cct(subject: tuple[tuple[str, str], ...]) -> Subfields:
        """CNMARC 606 → MARC 21 650 _7 $2 cct: place $y→$z, period $z→$y, form $j→$v."""
        mapping = {"a": "a", "x": "x", "y": "z", "z": "y", "j": "v"}
        sub: Subfields = [(mapping.get(code, "x"), value) for code, value in subject]
        sub.append(("2", "cct"))
        return sub

    def _item(self, ed: Edition, it, call: str) -> Subfields:  # noqa: ANN001
        rng = self.rng
        where = ("english" if ed.lang == "eng" else "children" if ed.children
                 else "local" if ed.local else "general")
        sub: Subfields = [("0", "0"), ("1", "0" if it.status != "遗失" else "1"),
                          ("7", "1" if where == "local" else "0"),
                          ("a", self.agency), ("b", self.agency), ("c", it.location),
                          ("d", f"{it.acquired[:4]}-{it.acquired[4:6]}-{it.acquired[6:]}")]
        if ed.currency == "CNY":
            sub.append(("g", ed.price))
        sub += [("o", call), ("p", it.barcode)]
        if it.status == "借出":
            sub.append(("q", f"2024-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d}"))
        sub.append(("y", _ITEM_TYPE.get(where, "BK")))
        return sub
