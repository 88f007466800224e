"""How sure we are of a source's character set, from a sample of its records.

The decision for each record is the harvest's own (`harvest.marc.detect_encoding`, through
`decode_iso2709` with ``encoding: auto``); this module only counts, over a sample, what that
detector decided and the evidence it looked at — MARC-8 escape sequences, valid UTF-8,
high bytes that read as GB18030 Chinese text, records with no byte above 0x7F (no evidence
at all) — so `tongjian source probe` can say "GB18030, 20 of 20 records" rather than guess
from one record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from harvest.marc import RecordError, decode_iso2709, looks_like_gb_text

LABELS = {"utf-8": "UTF-8", "gb18030": "GBK/GB18030", "marc-8": "MARC-8"}


@dataclass(frozen=True)
class EncodingEvidence:
    encoding: str  # what most sampled records were detected as ("" when none was readable)
    sampled: int
    agreeing: int  # records detected as `encoding`
    escapes: int = 0  # records holding MARC-8 escape sequences (ESC)
    utf8: int = 0  # records with non-ASCII bytes that are valid UTF-8
    gb_text: int = 0  # records whose high bytes read as GB18030 Chinese text
    ascii_only: int = 0  # records with no byte above 0x7F: the leader decides
    ansel: int = 0  # other high bytes: MARC-8 diacritics (ANSEL) without escapes, or damage
    unreadable: int = 0  # records the detector refused (RecordError)

    @property
    def share(self) -> float:
        return self.agreeing / self.sampled if self.sampled else 0.0

    def describe(self) -> str:
        """One line for the probe: the encoding, how sure, and why."""
        if not self.encoding:
            return f"unknown: none of {self.sampled} sampled records could be decoded"
        evidence = [f"{n} {what}" for n, what in (
            (self.escapes, "with MARC-8 escape sequences"),
            (self.utf8, "valid UTF-8 beyond ASCII"),
            (self.gb_text, "with GB18030 Chinese byte pairs"),
            (self.ascii_only, "plain ASCII (no evidence, leader/09 decides)"),
            (self.ansel, "with other high bytes (MARC-8 diacritics without escapes?)"),
            (self.unreadable, "unreadable")) if n]
        return (f"{LABELS.get(self.encoding, self.encoding)} — {self.agreeing} of "
                f"{self.sampled} sampled records ({self.share:.0%}); evidence: "
                + "; ".join(evidence))


def weigh(chunks: Iterable[bytes], flavour: str = "auto") -> EncodingEvidence:
    """The detector's verdict on each ISO 2709 record in `chunks`, counted."""
    verdicts: Counter[str] = Counter()
    escapes = utf8 = gb_text = ascii_only = ansel = unreadable = sampled = 0
    for chunk in chunks:
        sampled += 1
        if chunk.isascii():
            ascii_only += 1
        elif b"\x1b" in chunk:
            escapes += 1
        else:
            try:
                chunk.decode("utf-8")
                utf8 += 1
            except UnicodeDecodeError:
                if looks_like_gb_text(chunk):
                    gb_text += 1
                else:
                    ansel += 1
        try:
            verdicts[decode_iso2709(chunk, "auto", flavour).encoding] += 1
        except RecordError:
            unreadable += 1
    if not verdicts:
        return EncodingEvidence("", sampled, 0, escapes, utf8, gb_text, ascii_only, ansel,
                                unreadable)
    encoding, agreeing = verdicts.most_common(1)[0]
    return EncodingEvidence(encoding, sampled, agreeing, escapes, utf8, gb_text, ascii_only,
                            ansel, unreadable)
