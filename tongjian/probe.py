"""`tongjian source probe ADDRESS`: what a member system offers, before it is configured.

A connector admin adding a county library gets facts instead of guesses: can we connect,
which databases and record syntaxes work, what the records really are (MARC 21 or CNMARC,
UTF-8, MARC-8 or GBK — from the bytes, not the labels), which Bib-1 searches the server
supports — and a `config.yaml` block to paste.  Every failure is phrased as what is wrong
and what to try next.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from connectors.base import ConnectorError, Diagnostic, RawRecord, Unreachable
from connectors.registry import open_connector
from core.config import Source
from core.model import Record
from harvest.crosswalk import from_raw
from harvest.encoding_evidence import LABELS, EncodingEvidence, weigh
from harvest.marc import Marc, RecordError
from harvest.readers import read_one
from harvest.record_syntaxes import split_opac


@dataclass
class ProbeReport:
    address: str
    protocol: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    sample: dict[str, Any] | None = None
    source_block: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.source_block)

    def fact(self, label: str, value: object) -> None:
        self.facts.append((label, str(value)))

    def render(self) -> str:
        lines = [f"probe {self.protocol} {self.address}"]
        lines += [f"  {label:<22} {value}" for label, value in self.facts]
        if self.sample:
            lines.append(f"  {'sample record':<22} {self.sample.get('title', '')!r} "
                         f"({self.sample.get('year') or 'no year'}, "
                         f"ISBN {', '.join(self.sample.get('isbn', [])) or 'none'})")
        lines += [f"  problem: {p}" for p in self.problems]
        if self.source_block:
            lines.append("\nconfig.yaml — paste under `sources:` and set `library:`:\n")
            block = yaml.safe_dump([self.source_block], allow_unicode=True, sort_keys=False)
            lines.append("\n".join("  " + line for line in block.splitlines()))
        return "\n".join(lines)


def _host_port(address: str, default_port: int) -> tuple[str, int, str]:
    bare = address.removeprefix("tcp:")
    hostport, _, database = bare.partition("/")
    host, _, port = hostport.rpartition(":")
    if not host:
        host, port = hostport, str(default_port)
    if not port.isdigit():
        raise ValueError(f"port {port!r} in {address!r} is not a number")
    return host, int(port), database


def check_tcp(host: str, port: int, timeout: float) -> str | None:
    """None when a TCP connection opens; otherwise the reason, in words an admin can act on."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except socket.gaierror:
        return f"host name {host!r} does not resolve — check the spelling or use an IP address"
    except ConnectionRefusedError:
        return (f"{host}:{port} refused the connection — the port is closed: check the port "
                "number, and that the Z39.50 service is running")
    except TimeoutError:
        return (f"{host}:{port} did not answer within {timeout:g} s — a firewall may be "
                "dropping the connection, or the host is down")
    except OSError as e:
        return f"{host}:{port}: {e.strerror or e}"


# Queries tried in turn to find at least one record on a server we know nothing about.
DISCOVERY_QUERIES = (
    '@attr 1=_ALLRECORDS @attr 2=103 ""',
    '@attr 1=1016 "中国"',
    '@attr 1=4 "中国"',
    '@attr 1=1016 "the"',
    '@attr 1=1016 "a"',
)
SYNTAXES = ("unimarc", "usmarc", "marcxml", "opac", "sutrs")
SAMPLE = 20  # records read to weigh the encoding


def probe_z3950(address: str, timeout: float = 5.0, protocol: str = "z3950") -> ProbeReport:
    from connectors.z3950 import USE_ATTRIBUTES

    report = ProbeReport(address, protocol)
    try:
        host, port, database = _host_port(address, 210 if protocol == "z3950" else 80)
    except ValueError as e:
        report.problems.append(str(e))
        return report
    if not database:
        database = "Default"
        address = f"{host}:{port}/{database}"
        report.fact("database", "none given, trying 'Default'")
    reason = check_tcp(host, port, timeout)
    if reason:
        report.problems.append(reason)
        return report
    report.fact("connection", f"{host}:{port} accepts connections")
    if protocol == "z3950":
        report.fact("databases", _databases(address, timeout, protocol))

    working: dict[str, RawRecord] = {}
    query = None
    for syntax in SYNTAXES if protocol == "z3950" else ("marcxml",):
        failures: list[str] = []
        try:
            with _open(address, syntax, timeout, protocol) as conn:
                if query is None:
                    query = _find_query(conn, report)
                    if query is None:
                        return report
                else:
                    conn.search_pqf(query)
                records = conn.fetch(1, 1, on_error=lambda _pos, why, f=failures: f.append(why))
        except Diagnostic as e:
            if e.code in (109, 235):
                report.problems.append(
                    f"database {database!r} is unknown to the server ({e.diag_message}); "
                    "ask the library for the database name (e.g. the one their OPAC uses)")
                return report
            report.fact(f"syntax {syntax}", f"not offered ({e.diag_message})")
            continue
        except Unreachable as e:
            report.problems.append(f"{e.message}; the server accepted TCP but not Z39.50 — "
                                   "is this the Z39.50 port?")
            return report
        except ConnectorError as e:
            report.problems.append(f"{e.message} (user name and password may be required)")
            return report
        if not records:
            report.fact(f"syntax {syntax}", "no record came back"
                        + (f" ({failures[0]})" if failures else ""))
            continue
        got = records[0].syntax
        if "sutrs" in (syntax, got):
            report.fact(f"syntax {syntax}", "answers in SUTRS (plain text): not a catalogue "
                        "record, cannot be harvested")
            continue
        if got != syntax and syntax != "marcxml":
            report.fact(f"syntax {syntax}", f"answered in {got} instead")
            continue
        report.fact(f"syntax {syntax}", "works")
        working[syntax] = records[0]
    usable = ", ".join(working) or "none"
    report.fact("record syntaxes", usable)
    if not working:
        report.problems.append("no record could be fetched in a syntax Tongjian reads "
                               "(UNIMARC, USMARC, MARCXML or OPAC)")
        return report
    try:
        syntax, raw, marc, record = _preferred(working)
    except RecordError as e:
        report.problems.append(f"the sample record cannot be read: {e}")
        return report
    report.fact("harvest syntax", syntax + (" (its holdings carry the copies)"
                                            if syntax == "opac" else ""))
    _describe_marc(report, marc, record,
                   _weigh_encoding(address, syntax, timeout, protocol, query, marc))
    report.fact("search attributes", _attributes(address, syntax, timeout, protocol, marc,
                                                  USE_ATTRIBUTES))
    report.fact("full harvest", "yes (_ALLRECORDS)" if query == DISCOVERY_QUERIES[0] else
                "no every-record query: use mode live, or a harvest `query:`")
    report.source_block = {
        "name": "CHANGE-ME", "library": "CHANGE-ME", "protocol": protocol, "address": address,
        "record_syntax": syntax, "format": marc.flavour, "encoding": marc.encoding,
        "mode": "harvest" if query == DISCOVERY_QUERIES[0] else "live", "timeout": 10,
    }
    return report


def _databases(address: str, timeout: float, protocol: str) -> str:
    """The server's databases from its Explain database, or why they could not be listed."""
    from connectors.z3950 import EXPLAIN_DATABASE, explain_databases

    host = address.removeprefix("tcp:").partition("/")[0]
    found: list[tuple[str, int | None]] = []
    try:
        for syntax in ("sutrs", "marcxml"):  # what Explain records are served as
            with _open(f"{host}/{EXPLAIN_DATABASE}", syntax, timeout, protocol) as conn:
                found = explain_databases(conn)
            if found:
                break
    except ConnectorError as e:
        return (f"could not be listed: the server offers no Explain database ({e.message}); "
                "ask the library which database name their OPAC uses")
    if not found:
        return "could not be listed: the Explain database describes none"
    return ", ".join(f"{name} ({count:,} records)" if count is not None else name
                     for name, count in found)


def _open(address: str, syntax: str, timeout: float, protocol: str) -> Any:
    """A connector for the probed address, built the way a configured source's would be
    (through `connectors.registry`), so what the probe finds is what a harvest will see."""
    source = Source(name="probe", library="", protocol=protocol, address=address,
                    record_syntax=syntax, timeout=timeout)
    return open_connector(source, timeout=timeout)


def _find_query(conn: Any, report: ProbeReport) -> str | None:
    for pqf in DISCOVERY_QUERIES:
        try:
            hits = conn.search_pqf(pqf)
        except Diagnostic as e:
            if e.code in (109, 235):  # database unavailable / does not exist
                raise
            continue
        if hits:
            report.fact("records", f"{hits:,} found by {pqf}")
            return pqf
    report.problems.append("the server answered, but none of the test searches found a record "
                           "(the database may be empty or need other search attributes)")
    return None


def _bibliographic(raw: RawRecord) -> bytes:
    return split_opac(raw.data)[0] if raw.syntax == "opac" else raw.data


def _read(raw: RawRecord) -> tuple[Marc, Record]:
    source = Source(name="probe", library="probe", protocol="z3950", address="probe")
    return read_one(_bibliographic(raw), raw.syntax), from_raw(raw, source)


def _preferred(working: dict[str, RawRecord]) -> tuple[str, RawRecord, Marc, Record]:
    """ISO 2709 in the record's own flavour beats MARCXML (it is what we store raw), and
    MARCXML beats OPAC — unless only the OPAC record carries the copies."""
    readable: dict[str, tuple[Marc, Record]] = {}
    error: RecordError | None = None
    for syntax, raw in working.items():
        try:
            readable[syntax] = _read(raw)
        except RecordError as e:
            error = error or e
    if not readable:
        assert error is not None
        raise error
    order: list[str] = [s for s in ("unimarc", "usmarc")
             if s in readable and (s == "unimarc") == (readable[s][0].flavour == "cnmarc")]
    order += [s for s in ("unimarc", "usmarc", "marcxml", "opac") if s in readable]
    best = order[0]
    if (best != "opac" and "opac" in readable and not readable[best][1].holdings
            and readable["opac"][1].holdings):
        best = "opac"
    return best, working[best], *readable[best]


def _describe_marc(report: ProbeReport, marc: Marc, record: Record,
                   evidence: EncodingEvidence | None) -> None:
    report.fact("MARC flavour", "CNMARC/UNIMARC" if marc.flavour == "cnmarc" else "MARC 21")
    declared = marc.leader[9:10]
    label = LABELS[marc.encoding]
    note = ""
    if marc.flavour == "marc21" and (declared == "a") != (marc.encoding == "utf-8"):
        note = f" (leader/09 says {'UTF-8' if declared == 'a' else 'MARC-8'}: it is wrong)"
    report.fact("encoding (from bytes)", label + note)
    report.fact("encoding confidence", evidence.describe() if evidence else
                "MARCXML: Unicode, as the XML declares")
    report.sample = record.to_dict()
    found = [name for name, value in (("holdings", record.holdings), ("ISBN", record.isbn),
                                      ("CLC class", record.clc)) if value]
    missing = [name for name in ("holdings", "ISBN", "CLC class") if name not in found]
    report.fact("sample has", ", ".join(found) or "none of holdings, ISBN, CLC class")
    if "holdings" in missing:
        report.fact("note", "no holdings in the default tags (852/952/999/949 or 905/906): "
                    "add a `holdings:` map for this source")


def _weigh_encoding(address: str, syntax: str, timeout: float, protocol: str,
                    query: str | None, marc: Marc) -> EncodingEvidence | None:
    """The harvest's own detector over a sample of records in the harvest syntax; None for
    MARCXML, whose text is Unicode by the XML's own declaration."""
    if syntax == "marcxml" or query is None:
        return None
    with _open(address, syntax, timeout, protocol) as conn:
        conn.search_pqf(query)
        raws = conn.fetch(1, SAMPLE)
    return weigh((_bibliographic(r) for r in raws), marc.flavour)


def _attributes(address: str, syntax: str, timeout: float, protocol: str, marc: Marc,
                use_attributes: dict[str, int]) -> str:
    word = _sample_word(marc)
    works, fails = [], []
    with _open(address, syntax, timeout, protocol) as conn:
        for name in use_attributes:
            try:
                conn.search(word if name != "isbn" else "9787000000000", name)
                works.append(f"{name} ({use_attributes[name]})")
            except Diagnostic as e:
                fails.append(f"{name} ({use_attributes[name]}): {e.code}")
    return ", ".join(works) + (f"; unsupported: {', '.join(fails)}" if fails else "")


def _sample_word(marc: Marc) -> str:
    title = marc.first("200", "a") or marc.first("245", "a") or "a"
    word = title.split()[0] if title.split() else title
    return word[:4] if any("\u4e00" <= c <= "\u9fff" for c in word) else word


PROBES: dict[str, Callable[..., ProbeReport]] = {
    "z3950": probe_z3950,
    "sru": lambda address, timeout=5.0: probe_z3950(address, timeout, protocol="sru"),
}


def probe(address: str, protocol: str | None = None, timeout: float = 5.0) -> ProbeReport:
    """Probe with the given protocol, or guess it from the address."""
    if protocol is None:
        protocol = "sru" if address.startswith(("http://", "https://")) else "z3950"
    if protocol not in PROBES:
        return ProbeReport(address, protocol, problems=[
            f"probing {protocol} is not available; protocols: {', '.join(PROBES)}"])
    return PROBES[protocol](address, timeout=timeout)
