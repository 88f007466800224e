"""SRU at /sru: explain and searchRetrieve over the merged catalogue, versions 1.2 and 2.0.

Other systems (a university's metasearch, pazpar2, YAZ) search the union catalogue the way
they search any library: CQL parsed by YAZ (`connectors.cql`), run through the portal's own
search (`portal.sru_query`), records as MARC 21 (MARCXML, holdings in 852), UNIMARC
(CNMARC-style, holdings in 906) or Dublin Core.  Errors are SRU diagnostics
(info:srw/diagnostic/1/…) inside a normal response, as the standard wants; a request
this server will not answer at all (turned off, not a listed network, over its budget)
gets an HTTP status.

The response shape follows the version asked for: `version=1.1|1.2` gets the SRU 1.2
(ZiNG) namespace, `2.0` or none the OASIS searchRetrieve 2.0 one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from lxml import etree

from connectors.cql import CQLSyntaxError, Modifier, Query, SortKey, parse
from core.config import Config
from harvest import export, marc_write
from harvest.store import RecordStore
from index.backend import SearchBackend
from portal.core import BACKEND, CONFIG, STORE, blocking, searching
from portal.offer_access import Gate
from portal.sru_query import FILTER_INDEXES, TEXT_INDEXES, YEAR_INDEXES, Diagnostic, Searcher

NS_12 = "http://www.loc.gov/zing/srw/"
DIAG_12 = "http://www.loc.gov/zing/srw/diagnostic/"
NS_20 = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
DIAG_20 = "http://docs.oasis-open.org/ns/search-ws/diagnostic"
EXPLAIN_NS = "http://explain.z3950.org/dtd/2.0/"
SRW_DC_NS = "info:srw/schema/1/dc-schema"

DEFAULT_RECORDS = 10
MAX_RECORDS = 100  # a larger maximumRecords is answered with this many (the standard allows)


@dataclass(frozen=True)
class Schema:
    name: str
    identifier: str
    title: str
    exporter: str  # in harvest.export.FORMATS


SCHEMAS = (
    Schema("marcxml", "info:srw/schema/1/marcxml-v1.1", "MARC 21 (MARCXML), 馆藏 in 852",
           "marc21"),
    Schema("unimarc", "info:srw/schema/8/unimarcxml-v0.1", "UNIMARC/CNMARC (MARCXML "
           "container), 馆藏 in 906", "unimarc"),
    Schema("dc", "info:srw/schema/1/dc-v1.1", "Dublin Core", "dc"),
)
_SCHEMA_NAMES = {s.name: s for s in SCHEMAS} | {s.identifier: s for s in SCHEMAS} | {
    "marc21": SCHEMAS[0], "marcxml-v1.1": SCHEMAS[0], "unimarcxml": SCHEMAS[1],
    "info:srw/schema/1/dc-schema": SCHEMAS[2]}

#: Parameters each operation understands (anything else but x-… is diagnostic 8).
SEARCH_PARAMS = frozenset({"operation", "version", "query", "startRecord", "maximumRecords",
                           "recordPacking", "recordSchema", "recordXMLEscaping", "sortKeys",
                           "stylesheet", "resultSetTTL", "recordXPath", "httpAccept",
                           "queryType"})
EXPLAIN_PARAMS = frozenset({"operation", "version", "recordPacking", "recordXMLEscaping",
                            "stylesheet", "httpAccept"})


class Protocol:
    """One response's namespaces and element names, for the version asked for."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.ns, self.diag = (NS_20, DIAG_20) if version == "2.0" else (NS_12, DIAG_12)
        self.prefix = "sru" if version == "2.0" else "srw"

    def root(self, name: str) -> etree._Element:
        root = etree.Element(f"{{{self.ns}}}{name}", nsmap={self.prefix: self.ns})
        self.sub(root, "version", self.version)
        return root

    def sub(self, parent: etree._Element, name: str, text: str | None = None
            ) -> etree._Element:
        el = etree.SubElement(parent, f"{{{self.ns}}}{name}")
        if text is not None:
            el.text = text
        return el

    def diagnostics(self, parent: etree._Element, diagnostic: Diagnostic) -> None:
        box = self.sub(parent, "diagnostics")
        d = etree.SubElement(box, f"{{{self.diag}}}diagnostic", nsmap={"diag": self.diag})
        etree.SubElement(d, f"{{{self.diag}}}uri").text = \
            f"info:srw/diagnostic/1/{diagnostic.number}"
        if diagnostic.details:
            etree.SubElement(d, f"{{{self.diag}}}details").text = marc_write.xml_safe(
                diagnostic.details)
        etree.SubElement(d, f"{{{self.diag}}}message").text = diagnostic.message

    def record(self, parent: etree._Element, schema: str, data: etree._Element,
               position: int | None, escaped: bool) -> None:
        rec = self.sub(parent, "record")
        self.sub(rec, "recordSchema", schema)
        if self.version == "2.0":
            self.sub(rec, "recordXMLEscaping", "string" if escaped else "xml")
        else:
            self.sub(rec, "recordPacking", "string" if escaped else "xml")
        holder = self.sub(rec, "recordData")
        if escaped:
            holder.text = etree.tostring(data, encoding="unicode")
        else:
            holder.append(data)
        if position is not None:
            self.sub(rec, "recordPosition", str(position))


def _integer(params: Mapping[str, str], name: str, default: int, low: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < low:
        raise Diagnostic(6, name, f"{name}={raw[:20]!r} must be a whole number ≥ {low}")
    return int(raw)


class SRU:
    """Answers SRU requests (built on the portal's threads: store work on its store
    thread, the engine on its search pool)."""

    def __init__(self, config: Config) -> None:
        self.config = config

    # -- explain ---------------------------------------------------------------------

    def explain_record(self, base_url: str) -> etree._Element:
        url = urlsplit(base_url)
        explain = etree.Element(f"{{{EXPLAIN_NS}}}explain", nsmap={"zr": EXPLAIN_NS})

        def sub(parent: etree._Element, tag: str, text: str | None = None,
                **attrs: str) -> etree._Element:
            el = etree.SubElement(parent, f"{{{EXPLAIN_NS}}}{tag}", **attrs)
            if text is not None:
                el.text = text
            return el

        server = sub(explain, "serverInfo", protocol="SRU", version="2.0")
        sub(server, "host", url.hostname or "localhost")
        sub(server, "port", str(url.port or (443 if url.scheme == "https" else 80)))
        sub(server, "database", url.path.lstrip("/") or "sru")
        db = sub(explain, "databaseInfo")
        sub(db, "title", self.config.name or "Tongjian", lang="zh", primary="true")
        sub(db, "description", "省级公共图书馆联合目录：每种书一条，附各馆馆藏（馆代码、索书号、"
            "条码）。Union catalogue of the province's public libraries, one entry per "
            "book with every library's holdings.", lang="zh")
        index_info = sub(explain, "indexInfo")
        for name, identifier in (
                ("cql", "info:srw/cql-context-set/1/cql-v1.2"),
                ("dc", "info:srw/cql-context-set/1/dc-v1.1"),
                ("bath", "http://zing.z3950.org/cql/bath/2.0/"),
                ("rec", "info:srw/cql-context-set/2/rec-1.1"),
                ("tongjian", "info:srw/cql-context-set/15/tongjian-1.0")):
            sub(index_info, "set", name=name, identifier=identifier)
        titles = {"any": "任意字段 any word", "title": "题名 title", "author": "责任者 author",
                  "isbn": "ISBN/ISSN", "subject": "主题/分类号 subject",
                  "call_number": "索书号 call number"}
        for index, field in TEXT_INDEXES.items():
            if "." not in index:
                continue
            self._index(sub, index_info, index, titles[field])
        for index in FILTER_INDEXES:
            if "." in index:
                self._index(sub, index_info, index, {
                    "library": "馆代码 holding library code", "region": "地区 region",
                    "clc_top": "中图分类大类 CLC top class"}[FILTER_INDEXES[index]])
        for index in YEAR_INDEXES:
            if "." in index:
                self._index(sub, index_info, index, "出版年 year (= < > <= >=)")
        self._index(sub, index_info, "cql.allRecords", "全部书目 every entry (= 1)")
        schema_info = sub(explain, "schemaInfo")
        for schema in SCHEMAS:
            s = sub(schema_info, "schema", identifier=schema.identifier, name=schema.name,
                    sort="false", retrieve="true")
            sub(s, "title", schema.title)
        config_info = sub(explain, "configInfo")
        sub(config_info, "default", str(DEFAULT_RECORDS), type="numberOfRecords")
        sub(config_info, "default", SCHEMAS[0].name, type="retrieveSchema")
        sub(config_info, "setting", str(MAX_RECORDS), type="maximumRecords")
        sub(config_info, "supports", "dc.date dc.title", type="sort")
        sub(config_info, "supports", "and or not", type="booleans")
        return explain

    @staticmethod
    def _index(sub: Any, parent: etree._Element, index: str, title: str) -> None:
        set_name, _, name = index.partition(".")
        el = sub(parent, "index", search="true", scan="false",
                 sort="true" if index in ("dc.date", "dc.title") else "false")
        sub(el, "title", title)
        sub(sub(el, "map"), "name", name, set=set_name)

    def explain(self, proto: Protocol, params: Mapping[str, str], base_url: str) -> bytes:
        root = proto.root("explainResponse")
        escaped = _escaped(params)
        try:
            _known(params, EXPLAIN_PARAMS)
            proto.record(root, EXPLAIN_NS, self.explain_record(base_url), None, escaped)
        except Diagnostic as d:
            proto.diagnostics(root, d)
        return _bytes(root)

    # -- searchRetrieve ----------------------------------------------------------------

    def plan(self, params: Mapping[str, str]) -> tuple[Query, Schema, int, int]:
        """(parsed query, schema, startRecord, maximumRecords) or Diagnostic."""
        _known(params, SEARCH_PARAMS)
        query_text = params.get("query")
        if query_text is None or not query_text.strip():
            raise Diagnostic(7, "query", "the query parameter is required")
        if params.get("queryType", "cql") != "cql":
            raise Diagnostic(6, "queryType", "only CQL queries are supported")
        schema_name = params.get("recordSchema") or SCHEMAS[0].name
        schema = _SCHEMA_NAMES.get(schema_name)
        if schema is None:
            raise Diagnostic(66, schema_name, f"unknown record schema; use one of "
                             f"{', '.join(s.name for s in SCHEMAS)}")
        start = _integer(params, "startRecord", 1, 1)
        maximum = min(_integer(params, "maximumRecords", DEFAULT_RECORDS, 0), MAX_RECORDS)
        try:
            query = parse(query_text)
        except CQLSyntaxError as e:
            raise Diagnostic(10, query_text[:60], f"query syntax error: {e}") from None
        if params.get("sortKeys"):  # SRU 1.1's sortKeys: "path,schema,ascending …"
            query = _with_sort_keys(query, params["sortKeys"])
        return query, schema, start, maximum

    def records(self, store: RecordStore, ids: list[str], schema: Schema
                ) -> list[etree._Element | None]:
        exporter = export.FORMATS[schema.exporter]
        out: list[etree._Element | None] = []
        for entry_id in ids:
            records = store.cluster(entry_id)
            row = store.lineage(entry_id)
            if not records:
                out.append(None)
                continue
            el = exporter(export.Entry(entry_id, records, row.changed if row else 0.0),
                          self.config.libraries)
            if schema.exporter == "dc":
                el.tag = f"{{{SRW_DC_NS}}}dc"
            out.append(el)
        return out


def _known(params: Mapping[str, str], allowed: frozenset[str]) -> None:
    for name in params:
        if name not in allowed and not name.startswith("x-"):
            raise Diagnostic(8, name, f"unsupported parameter {name}")


def _escaped(params: Mapping[str, str]) -> bool:
    packing = params.get("recordXMLEscaping") or params.get("recordPacking") or "xml"
    return packing == "string"


def _with_sort_keys(query: Query, sort_keys: str) -> Query:
    keys = []
    for spec in sort_keys.split():
        parts = spec.split(",")
        ascending = len(parts) < 3 or parts[2] != "0"
        keys.append(SortKey(parts[0], () if ascending else (Modifier("sort.descending"),)))
    return Query(query.tree, tuple(keys))


def _bytes(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


# -- the route ----------------------------------------------------------------------------

SRU_APP = web.AppKey("sru", SRU)
GATE = web.AppKey("sru_gate", Gate)


async def sru(request: web.Request) -> web.Response:
    refusal = request.app[GATE].check(request)
    if refusal is not None:
        headers = {"Retry-After": str(refusal.retry_after)} if refusal.retry_after else {}
        return web.Response(status=refusal.status, text=refusal.message, headers=headers)
    if request.method == "POST":
        form = await request.post()
        params = {k: str(v) for k, v in form.items()}
    else:
        params = dict(request.query.items())
    version = params.get("version", "2.0")
    proto = Protocol("2.0" if version == "2.0" else "1.2")
    service = request.app[SRU_APP]
    base_url = str(request.url.with_query(None))
    operation = params.get("operation") or ("searchRetrieve" if "query" in params
                                            else "explain")
    if version not in ("1.1", "1.2", "2.0"):
        body = _failure(proto, "explainResponse",
                        Diagnostic(5, "2.0", f"version {version[:10]} is not supported; "
                                   "use 1.2 or 2.0"))
    elif operation == "explain":
        body = service.explain(proto, params, base_url)
    elif operation == "searchRetrieve":
        body = await _search(request, service, proto, params)
    else:
        body = _failure(proto, "searchRetrieveResponse",
                        Diagnostic(4, operation[:30], f"operation {operation[:30]} is not "
                                   "supported; use explain or searchRetrieve"))
    return web.Response(body=body, content_type="application/xml", charset="utf-8")


def _failure(proto: Protocol, name: str, diagnostic: Diagnostic) -> bytes:
    root = proto.root(name)
    if name == "searchRetrieveResponse":
        proto.sub(root, "numberOfRecords", "0")
    proto.diagnostics(root, diagnostic)
    return _bytes(root)


async def _search(request: web.Request, service: SRU, proto: Protocol,
                  params: Mapping[str, str]) -> bytes:
    try:
        query, schema, start, maximum = service.plan(params)
        backend: SearchBackend = request.app[BACKEND]
        found = await searching(request, Searcher(backend).search, query, start,
                                max(maximum, 0))
        if start > 1 and start > found.total and found.total:
            raise Diagnostic(61, str(start), f"startRecord {start} is beyond the "
                             f"{found.total} records found")
        data = await blocking(request, service.records, request.app[STORE],
                              [h.id for h in found.hits], schema) if maximum else []
    except Diagnostic as d:
        return _failure(proto, "searchRetrieveResponse", d)
    root = proto.root("searchRetrieveResponse")
    proto.sub(root, "numberOfRecords", str(found.total))
    if data:
        box = proto.sub(root, "records")
        escaped = _escaped(params)
        for position, el in enumerate(data, start):
            if el is not None:
                proto.record(box, schema.identifier, el, position, escaped)
    following = start + len(found.hits)
    if found.hits and following <= found.total:
        proto.sub(root, "nextRecordPosition", str(following))
    return _bytes(root)


def setup_sru(app: web.Application) -> None:
    config = app[CONFIG]
    app[SRU_APP] = SRU(config)
    app[GATE] = Gate("SRU", "sru", config.offer.sru)
    app.router.add_route("GET", "/sru", sru)
    app.router.add_route("POST", "/sru", sru)
