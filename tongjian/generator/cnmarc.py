"""CNMARC records as a Chinese public library's ILS exports them.

The field choices imitate real NLC/BNU/dp2 exports (see docs in /work/shared/notes/cnmarc.md):
pinyin either as upper-case twins ($A after $a) or in $9, 100$a with the character set in
26-29, 690 with the CLC edition in $v, 701/702 with Chinese role words in $4, and local
holdings in 905 (call number) and 906 (one per item).  Records are built as field tuples and
written straight to ISO 2709 bytes by `harvest.iso2709.write` — no pymarc objects, because
this runs a million times in the benchmarks.
"""

from __future__ import annotations

from harvest.iso2709 import write
from tongjian.generator.consortium import Cataloguer, Edition, Person, format_pinyin

Subfields = list[tuple[str, str]]


class CnmarcCataloguer(Cataloguer):
    """Turns editions into this library's CNMARC records (UTF-8 or GB18030)."""

    def record(self, ed: Edition) -> bytes:
        rng, st = self.rng, self.style
        entered, stamp = self.dates(ed)
        style = self.pinyin_style()
        chinese = ed.lang == "chi"
        fields: list[tuple[str, str, Subfields | str]] = []

        status = "n" if rng.random() < 0.92 else "c"
        level = "2" if ed.vol and rng.random() < 0.3 else "0"
        if rng.random() < st.leader_dash:
            leader = f"00000{status}am{level}-2200000---{st.leader_tail.replace(' ', '-')}"
        else:
            leader = f"00000{status}am{level} 2200000   {st.leader_tail}"

        fields.append(("001", "", self.next_id(int(entered[:4]))))
        fields.append(("005", "", stamp))

        price = self.price_text(ed)
        if ed.isbn13 and rng.random() >= st.isbn_omit:
            sub: Subfields = [("a", self.isbn_text(ed))]
            if rng.random() < 0.04:
                sub.append(("b", "平装"))
            sub.append(("d", price))
            fields.append(("010", "  ", sub))
        elif ed.unified:
            fields.append(("091", "  ", [("a", ed.unified), ("d", price)]))
        elif rng.random() < 0.4:
            fields.append(("010", "  ", [("d", price)]))

        fields.append(("100", "  ", [("a", self._field100(ed, entered, chinese))]))
        if ed.orig_lang:
            fields.append(("101", "1 ", [("a", "chi"), ("c", ed.orig_lang)]))
        else:
            fields.append(("101", "0 ", [("a", ed.lang)]))
        if ed.country == "CN":
            fields.append(("102", "  ", [("a", "CN"), ("b", ed.region or "610000")]))
        else:
            fields.append(("102", "  ", [("a", ed.country)]))
        illus = "a   " if ed.illus else "y   "
        fields.append(("105", "  ", [("a", f"{illus}z   000{ed.lit_form}y")]))
        fields.append(("106", "  ", [("a", "r")]))

        fields.append(("200", "1 ", self._field200(ed, style)))
        if ed.edition_stmt:
            fields.append(("205", "  ", [("a", ed.edition_stmt)]))
        fields.append(("210", "  ", self._field210(ed)))
        fields.append(("215", "  ", self._field215(ed)))
        if ed.series:
            sub = [("a", ed.series)]
            if chinese and st.pinyin_code == "A" and rng.random() < 0.5:
                sub.append(("A", self.title_pinyin(ed.series, style)))
            if ed.series_no:
                sub.append(("v", ed.series_no))
            fields.append(("225", "2 ", sub))
            if rng.random() < 0.5:
                fields.append(("410", " 0", [("1", "2001"), ("a", ed.series)]))
        if ed.summary and rng.random() < st.summary:
            fields.append(("330", "  ", [("a", ed.summary)]))
        if ed.part_no and ed.title.startswith("中国") and rng.random() < 0.5:
            fields.append(("517", "1 ", [("a", ed.title)]))

        for subject in ed.subjects:
            fields.append(self._field606(subject, style, chinese))
        clc = self.clc(ed)
        sub = [("a", clc)]
        if st.clc_edition and rng.random() < 0.9:
            sub.append(("v", st.clc_edition))
        fields.append(("690", "  ", sub))

        fields.extend(self._names(ed, style))

        if rng.random() < st.copy_cataloguing and ed.year >= 1988:
            # NLC's record date is a fact of the edition: every library copying it sees it.
            nlc_year = min(ed.year + ed.slot % 2, 2024)
            nlc = f"{nlc_year}{ed.slot % 12 + 1:02d}{ed.slot % 27 + 1:02d}"
            fields.append(("801", " 0", [("a", "CN"), ("b", "NLC"), ("c", nlc)]))
            fields.append(("801", " 2", [("a", "CN"), ("b", self.agency), ("c", entered)]))
        else:
            fields.append(("801", " 0", [("a", "CN"), ("b", self.agency), ("c", entered)]))

        number, call = self.shelf(ed, clc)
        items = self.items(ed, entered)
        f905: Subfields = [("a", self.agency)]
        if st.items_in_905:
            f905 += [("b", it.barcode) for it in items]
        f905 += [("d", clc), ("e", number)]
        if st.items_in_905:
            f905.append(("f", str(len(items))))
        f905.append(("s", call))
        fields.append(("905", "  ", f905))
        for it in items:
            sub = [("a", it.barcode), ("b", it.location)]
            if not st.items_in_905:
                sub.append(("c", call))
            if rng.random() < st.status_share:
                sub.append(("s", it.status))
            fields.append(("906", "  ", sub))

        return write(leader, fields, self.spec.encoding)

    # ------------------------------------------------------------------------- pieces
    def _field100(self, ed: Edition, entered: str, chinese: bool) -> str:
        rng = self.rng
        if self.spec.encoding == "utf-8" or rng.random() < self.lie_share:
            charset = "50  "
        else:
            charset = "0121" if rng.random() < 0.08 else "0120"
        gov = "a" if ed.kind == "yearbook" else "y"
        script = "ea" if chinese else "ba"
        value = f"{entered}d{ed.year:04d}    {ed.audience}{gov}0chiy{charset}    {script}"
        assert len(value) == 36, value
        if rng.random() < self.style.hash_fill_100:
            value = value[:13] + value[13:].replace(" ", "#")
        return value

    def _field200(self, ed: Edition, style: str) -> Subfields:
        rng, st = self.rng, self.style
        chinese = ed.lang == "chi"
        title, part_no = ed.title, ed.part_no
        if part_no and part_no.isdigit() and rng.random() < st.title_part_in_a:
            title, part_no = f"{title}{part_no}", ""
        sub: Subfields = [("a", title)]
        twins = chinese and st.pinyin_code == "A"
        if chinese:
            sub.append((st.pinyin_code, self.title_pinyin(title, style)))
        if ed.other:
            sub.append(("e", ed.other))
            if twins and rng.random() < 0.6:
                sub.append(("E", self.title_pinyin(ed.other, style)))
        if part_no:
            sub.append(("h", part_no))
        if ed.part_name:
            sub.append(("i", ed.part_name))
            if twins and rng.random() < 0.5:
                sub.append(("I", self.title_pinyin(ed.part_name, style)))
        for i, (text, words) in enumerate(self.responsibility(ed)):
            sub.append(("f" if i == 0 else "g", text))
            if i == 0 and twins and words and rng.random() < 0.4:
                sub.append(("F", format_pinyin([w for w in words if w], style)))
        return sub

    def _field210(self, ed: Edition) -> Subfields:
        rng = self.rng
        sub: Subfields = []
        if ed.place:
            sub.append(("a", ed.place))
        sub.append(("c", ed.publisher or "[出版者不详]"))
        r = rng.random()
        if r < 0.75 or ed.lang != "chi":
            date = str(ed.year)
        elif r < 0.9:
            date = f"{ed.year}.{ed.month}"
        else:
            date = f"{ed.year}{ed.month:02d}"
        sub.append(("d", date))
        return sub

    def _field215(self, ed: Edition) -> Subfields:
        rng = self.rng
        if ed.lang != "chi":
            return [("a", f"{ed.pages} p."), ("d", f"{ed.cm}cm")]
        if ed.volumes_in_record > 1:
            extent = (f"{ed.volumes_in_record}册({ed.pages}页)" if rng.random() < 0.6
                      else f"{ed.volumes_in_record}册")
        else:
            extent = f"{ed.pages}页"
        sub: Subfields = [("a", extent)]
        if ed.illus:
            sub.append(("c", "彩图" if ed.children else "图"))
        sub.append(("d", f"{ed.cm}cm" if rng.random() < 0.93 else f"{ed.cm} cm"))
        return sub

    def _field606(self, subject: tuple[tuple[str, str], ...], style: str,
                  chinese: bool) -> tuple[str, str, Subfields]:
        rng, st = self.rng, self.style
        if st.subject_joined and rng.random() < st.subject_joined:
            return ("606", "  ", [("a", " ".join(v for _, v in subject))])
        sub: Subfields = list(subject)
        if chinese and st.pinyin_code == "A" and rng.random() < 0.3:
            sub.insert(1, ("A", self.title_pinyin(subject[0][1], style)))
        return ("606", "0 ", sub)

    def _names(self, ed: Edition, style: str) -> list[tuple[str, str, Subfields | str]]:
        """701/702 for persons, 711/712 for bodies: the first role group is primary."""
        out: list[tuple[str, str, Subfields | str]] = []
        first_role = ed.persons[0].role if ed.persons else ""
        code = self.style.pinyin_code
        for p in ed.persons:
            primary = p.role == first_role
            if p.corporate:
                sub: Subfields = [("a", p.name)]
                if code == "A":
                    sub.append(("A", self.person_pinyin(p, style)))
                sub.append(("4", p.role))
                out.append(("711" if primary else "712", "02", sub))
                continue
            tag = "701" if primary else "702"
            out.append((tag, *self._person(p, style)))
        return out

    def _person(self, p: Person, style: str) -> tuple[str, Subfields]:
        if p.western:
            sur, _, fore = p.name.partition(", ")
            sub: Subfields = [("a", sur), ("b", fore)]
            if p.dates:
                sub.append(("f", p.dates))
            sub.append(("4", p.role))
            return " 1", sub
        sub = []
        if p.prefix:
            sub.append(("c", f"({p.prefix})"))
        sub.append(("a", self.person_name(p)))
        if p.syllables:
            sub.append((self.style.pinyin_code, self.person_pinyin(p, style)))
        sub.append(("4", p.role))
        return " 0", sub
