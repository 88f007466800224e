"""The OpenSearch description (a browser adds the catalogue as a search engine, with
suggestions) and the Atom feed of a search ("new in the catalogue for this query")."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from portal.export.items import ExportItem

ATOM = "http://www.w3.org/2005/Atom"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
SUGGEST_PATH = "/api/suggest"  # the search box's suggestions (GET ?q=…, OpenSearch JSON)


def opensearch(base: str, name: str, description: str) -> bytes:
    ET.register_namespace("", OPENSEARCH)
    root = ET.Element(f"{{{OPENSEARCH}}}OpenSearchDescription")
    ET.SubElement(root, f"{{{OPENSEARCH}}}ShortName").text = name[:16]
    ET.SubElement(root, f"{{{OPENSEARCH}}}Description").text = description
    ET.SubElement(root, f"{{{OPENSEARCH}}}InputEncoding").text = "UTF-8"
    ET.SubElement(root, f"{{{OPENSEARCH}}}Language").text = "zh-CN"
    for kind, path in (("text/html", "/search"),
                       ("application/x-suggestions+json", SUGGEST_PATH),
                       ("application/atom+xml", "/feed")):
        ET.SubElement(root, f"{{{OPENSEARCH}}}Url", type=kind,
                      template=f"{base}{path}?q={{searchTerms}}")
    ET.SubElement(root, f"{{{OPENSEARCH}}}Url", type="application/opensearchdescription+xml",
                  rel="self", template=f"{base}/opensearch.xml")
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def atom(items: list[ExportItem], *, title: str, self_url: str, html_url: str,
         summaries: dict[str, str]) -> bytes:
    """Newest entries first (by the time the catalogue first had them); each entry's
    `updated` is its last change, so a reader's feed reader sees corrections too."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = title
    ET.SubElement(feed, f"{{{ATOM}}}id").text = self_url
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url,
                  type="application/atom+xml")
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=html_url, type="text/html")
    newest = max((i.updated for i in items), default=0.0)
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _when(newest)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = title
    for item in items:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}title").text = item.record.title or "（无题名）"
        ET.SubElement(entry, f"{{{ATOM}}}id").text = item.url
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=item.url,
                      type="text/html")
        ET.SubElement(entry, f"{{{ATOM}}}published").text = _when(item.first_seen)
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = _when(item.updated)
        for a in item.record.authors[:5]:
            if a.name:
                ET.SubElement(ET.SubElement(entry, f"{{{ATOM}}}author"),
                              f"{{{ATOM}}}name").text = a.name
        ET.SubElement(entry, f"{{{ATOM}}}summary", type="text").text = \
            summaries.get(item.entry_id, "")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


__all__ = ["SUGGEST_PATH", "atom", "opensearch"]
