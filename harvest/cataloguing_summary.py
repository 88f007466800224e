"""The monthly summary of union-cataloguing work (每月一期的工作质量数量汇总).

Per member and month: new records, modified records, new copies (册 — what the centre's
retro-conversion subsidy is paid on), totals since `cataloguing.start`; quality as
problems per 1,000 of the month's new records, per rule (the latest 审校 run, counted
by the month each record was made); review problems open and fixed; the twelve months
up to the chosen one for the trend charts; and the rankings the consortium awards
(先进集体: most new records among members whose problem rate is at or under
`cataloguing.rank_max_rate`; 优秀编目员: the same for the persons who made the records,
where a source's records name them — `cataloguing.cataloguers`, `harvest.attribution`).

Everything is computed from the store on request (a few aggregate queries), so the page,
the CSV and the XLSX are the same figures.
"""

from __future__ import annotations

import csv
import io
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from core.config import Config
from core.spreadsheet import safe_cell
from harvest.quality_report import BEIJING
from harvest.quality_rules import BY_CODE, KIND_CODES
from harvest.store import RecordStore

TREND_MONTHS = 12


def this_month(now: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if now is None else now, BEIJING).strftime("%Y-%m")


def months_back(month: str, count: int) -> list[str]:
    """`count` months ending with `month`, oldest first."""
    year, mon = int(month[:4]), int(month[5:7])
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{mon:02d}")
        mon -= 1
        if mon == 0:
            year, mon = year - 1, 12
    return out[::-1]


def rate(problems: int, records: int) -> float:
    """Problems per 1,000 records (0 without records)."""
    return round(problems * 1000 / records, 1) if records else 0.0


@dataclass
class MonthFigures:
    month: str
    new_records: int = 0
    modified_records: int = 0
    new_items: int = 0
    problems: dict[str, int] = field(default_factory=dict)  # rule → records of the month

    @property
    def problem_total(self) -> int:
        return sum(self.problems.values())

    @property
    def rate(self) -> float:
        return rate(self.problem_total, self.new_records)

    def rule_rate(self, code: str) -> float:
        return rate(self.problems.get(code, 0), self.new_records)


@dataclass
class MemberSummary:
    library: str
    name: str
    level: str
    region: str
    month: MonthFigures
    trend: list[MonthFigures]  # oldest first, ending with `month`
    total_records: int = 0  # since cataloguing.start
    total_items: int = 0
    total_modified: int = 0
    open_problems: int = 0  # review problems waiting for the member (or its confirmation)
    fixed_problems: int = 0
    rank: int = 0  # 先进集体 place (1…), 0 = not ranked
    eligible: bool = False  # the month's rate is at or under the threshold


@dataclass
class CataloguerSummary:
    """One person's month: the records they made (by the month the record was made, as
    for members), the records they changed, the problems in what they made."""

    library: str
    name: str  # the library's name
    person: str
    new_records: int = 0
    modified_records: int = 0
    problems: int = 0
    total_records: int = 0  # since cataloguing.start
    rank: int = 0  # 优秀编目员 place (1…), 0 = not ranked
    eligible: bool = False

    @property
    def rate(self) -> float:
        return rate(self.problems, self.new_records)


@dataclass
class Summary:
    month: str
    start: str
    threshold: float
    members: list[MemberSummary]
    rules: list[str]  # rule codes with any problem in the month, in table order
    # persons who made or changed records in the month, most new records first
    cataloguers: list[CataloguerSummary] = field(default_factory=list)

    @property
    def ranked(self) -> list[MemberSummary]:
        return sorted((m for m in self.members if m.rank), key=lambda m: m.rank)

    @property
    def ranked_cataloguers(self) -> list[CataloguerSummary]:
        return sorted((c for c in self.cataloguers if c.rank), key=lambda c: c.rank)

    def member(self, library: str) -> MemberSummary | None:
        return next((m for m in self.members if m.library == library), None)


def summarize(store: RecordStore, config: Config, month: str | None = None) -> Summary:
    month = month or this_month()
    cat = config.cataloguing
    window = months_back(month, TREND_MONTHS)
    since = min(cat.start, window[0])
    figures: dict[str, dict[str, MonthFigures]] = defaultdict(dict)

    def at(library: str, mon: str) -> MonthFigures:
        return figures[library].setdefault(mon, MonthFigures(mon))

    for library, mon, n in store.new_records_by_month(since):
        at(library, mon).new_records += n
    for library, mon, n in store.modified_records_by_month(since):
        at(library, mon).modified_records += n
    for library, mon, n in store.new_items_by_month(since):
        at(library, mon).new_items += n
    for library, mon, code, n in store.problems_by_month(since):
        problems = at(library, mon).problems
        problems[code] = problems.get(code, 0) + n
    reviews: dict[str, dict[str, int]] = defaultdict(dict)
    for library, state, n in store.review_counts():
        reviews[library][state] = n

    members = []
    for code, lib in config.libraries.items():
        months = figures.get(code, {})
        counted = [f for m, f in months.items() if cat.start <= m <= month]
        states = reviews.get(code, {})
        members.append(MemberSummary(
            library=code, name=lib.name, level=lib.level, region=lib.region,
            month=months.get(month, MonthFigures(month)),
            trend=[months.get(m, MonthFigures(m)) for m in window],
            total_records=sum(f.new_records for f in counted),
            total_items=sum(f.new_items for f in counted),
            total_modified=sum(f.modified_records for f in counted),
            open_problems=states.get("open", 0) + states.get("changed", 0),
            fixed_problems=states.get("fixed", 0)))
    for m in members:
        m.eligible = m.month.new_records > 0 and m.month.rate <= cat.rank_max_rate
    ranked = sorted((m for m in members if m.eligible),
                    key=lambda m: (-m.month.new_records, -m.month.new_items, m.month.rate))
    for place, m in enumerate(ranked[:cat.rank_top], 1):
        m.rank = place
    used = {c for m in members for c, n in m.month.problems.items() if n}
    return Summary(month, cat.start, cat.rank_max_rate, members,
                   [c for c in KIND_CODES if c in used], cataloguers(store, config, month))


def cataloguers(store: RecordStore, config: Config, month: str) -> list[CataloguerSummary]:
    """The month's cataloguers, ranked 优秀编目员 like members: most new records (then
    most changed) among those whose problem rate clears the same threshold."""
    cat = config.cataloguing
    people: dict[tuple[str, str], CataloguerSummary] = {}

    def person(library: str, name: str) -> CataloguerSummary:
        lib = config.libraries.get(library)
        return people.setdefault((library, name), CataloguerSummary(
            library, lib.name if lib else library, name))

    for library, name, mon, n in store.new_records_by_cataloguer(cat.start):
        if mon <= month:
            person(library, name).total_records += n
        if mon == month:
            person(library, name).new_records += n
    for library, name, mon, n in store.modified_records_by_cataloguer(month):
        if mon == month:
            person(library, name).modified_records += n
    for library, name, n in store.problems_by_cataloguer(month):
        if (library, name) in people:
            people[library, name].problems += n
    active = [c for c in people.values() if c.new_records or c.modified_records]
    for c in active:
        c.eligible = c.new_records > 0 and c.rate <= cat.rank_max_rate
    active.sort(key=lambda c: (-c.new_records, -c.modified_records, c.rate, c.library,
                               c.person))
    for place, c in enumerate([c for c in active if c.eligible][:cat.rank_top_cataloguers], 1):
        c.rank = place
    return active


# -- export ------------------------------------------------------------------------------


def table(summary: Summary) -> tuple[list[str], list[list[object]]]:
    """The summary as one header and a row per member: what the CSV and the XLSX hold."""
    header = ["月份", "馆代码", "馆名", "级别", "新编记录", "修改记录", "新增册数",
              f"累计记录（{summary.start} 起）", "累计册数", "问题数", "每千条问题",
              "审校待改", "审校已改", "先进集体名次"]
    header += [f"{BY_CODE[c].label}（每千条）" for c in KIND_CODES]
    rows: list[list[object]] = []
    for m in summary.members:
        f = m.month
        rows.append([summary.month, m.library, m.name, m.level, f.new_records,
                     f.modified_records, f.new_items, m.total_records, m.total_items,
                     f.problem_total, f.rate, m.open_problems, m.fixed_problems,
                     m.rank or ""] + [f.rule_rate(c) for c in KIND_CODES])
    return header, rows


def cataloguer_table(summary: Summary) -> tuple[list[str], list[list[object]]]:
    """The month's cataloguers (优秀编目员 places among them): the CSV's second part
    (`part=cataloguers`) and the XLSX's sheet 编目员."""
    header = ["月份", "馆代码", "馆名", "编目员", "新编记录", "修改记录",
              f"累计记录（{summary.start} 起）", "问题数", "每千条问题", "优秀编目员名次"]
    rows: list[list[object]] = [
        [summary.month, c.library, c.name, c.person, c.new_records, c.modified_records,
         c.total_records, c.problems, c.rate, c.rank or ""] for c in summary.cataloguers]
    return header, rows


def to_csv(summary: Summary, part: str = "members") -> bytes:
    """UTF-8 with a BOM, so Excel reads the Chinese; no cell starts a formula.  `part`:
    members (one row per member library) or cataloguers — one table per file."""
    header, rows = cataloguer_table(summary) if part == "cataloguers" else table(summary)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(summary: Summary) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False})
    sheet = book.add_worksheet(f"汇总 {summary.month}")
    bold = book.add_format({"bold": True, "text_wrap": True})
    header, rows = table(summary)
    sheet.write_row(0, 0, header, bold)
    for n, row in enumerate(rows, 1):
        sheet.write_row(n, 0, row)
    sheet.freeze_panes(1, 3)
    sheet.set_column(0, 1, 9)
    sheet.set_column(2, 2, 18)
    people = book.add_worksheet("编目员")
    header, rows = cataloguer_table(summary)
    people.write_row(0, 0, header, bold)
    for n, row in enumerate(rows, 1):
        people.write_row(n, 0, row)
    people.freeze_panes(1, 4)
    trend = book.add_worksheet("近12个月")
    trend.write_row(0, 0, ["馆代码", "馆名", "月份", "新编记录", "修改记录", "新增册数",
                           "每千条问题"], bold)
    line = 1
    for m in summary.members:
        for f in m.trend:
            trend.write_row(line, 0, [m.library, m.name, f.month, f.new_records,
                                      f.modified_records, f.new_items, f.rate])
            line += 1
    book.close()
    return out.getvalue()


def _cell(value: object) -> object:
    """Text made safe for Excel (`core.spreadsheet`); numbers stay numbers."""
    return safe_cell(value) if isinstance(value, str) else value
