"""ISO 2709 at the byte level: split a stream into records, read one, write one.

Why not pymarc's reader: real exports lie (leader lengths counted in characters after a
transcoding, leader/09 wrong, GBK text that pymarc decodes as MARC-8), and a harvest must
keep every broken record byte-for-byte with a precise reason.  So this module only deals
with structure — leader, directory, fields, subfields — as *bytes*, and leaves decoding to
`harvest.encoding`, which knows about MARC-8, GBK and UTF-8.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

RECORD_TERMINATOR = 0x1D
FIELD_TERMINATOR = 0x1E
SUBFIELD_DELIMITER = 0x1F
_FIELD_END = bytes([FIELD_TERMINATOR])
_RECORD_END = bytes([RECORD_TERMINATOR])


class MarcStructureError(ValueError):
    """The bytes are not a well-formed ISO 2709 record; the message says where and why."""


@dataclass
class RawField:
    tag: str
    data: bytes  # control field value, or indicators + subfields without the terminator

    @property
    def is_control(self) -> bool:
        return self.tag < "010" and self.tag.isdigit()

    @property
    def indicators(self) -> bytes:
        return self.data[:2] if not self.is_control else b""

    def subfields(self) -> list[tuple[str, bytes]]:
        """Split on the subfield delimiter.

        A delimiter followed by a byte that cannot be a subfield code (a control byte such
        as ESC, or a space) is stray data, not a delimiter — seen in real MARC-8 records
        (yaz's marc12): it is dropped and the text runs on, as YAZ itself reads it.
        """
        pieces = self.data[2:].split(b"\x1f")
        out: list[tuple[str, bytes]] = []
        for piece in pieces[1:]:
            if piece and 0x21 <= piece[0] <= 0x7E:
                out.append((chr(piece[0]), piece[1:]))
            elif out:  # stray delimiter: the text runs on
                code, value = out[-1]
                out[-1] = (code, value + piece)
        return out


@dataclass
class RawMarc:
    leader: bytes
    fields: list[RawField] = field(default_factory=list)

    def get(self, tag: str) -> list[RawField]:
        return [f for f in self.fields if f.tag == tag]


def split_records(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield (byte offset, record bytes incl. terminator) for each record in a file.

    Splits on the record terminator rather than trusting the leader's length, so one record
    with a wrong length cannot swallow its neighbours; `parse` then checks the length.
    Terminator bytes cannot occur inside UTF-8, GBK/GB18030 or MARC-8 text.
    """
    start = 0
    n = len(data)
    while start < n:
        end = data.find(_RECORD_END, start)
        if end == -1:
            chunk = data[start:]
            if chunk.strip(b"\r\n\x00 \x1a"):
                yield start, chunk
            return
        # Tolerate line breaks between records (some exports add them).
        while data[start] in b"\r\n":  # stops at the terminator at the latest
            start += 1
        if start < end:  # not a bare terminator
            yield start, data[start : end + 1]
        start = end + 1


def parse(chunk: bytes) -> RawMarc:
    """Parse one record's structure; raise MarcStructureError naming what is wrong."""
    leader, fields = parse_fields(chunk)
    return RawMarc(leader=leader, fields=[RawField(tag, data) for tag, data in fields])


# One directory entry: tag (letters or digits), field length, start position.
_ENTRY = re.compile(r"([0-9A-Za-z]{3})([0-9]{4})([0-9]{5})")
_ENTRIES = re.compile(r"(?:[0-9A-Za-z]{3}[0-9]{9})*")


def parse_fields(chunk: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """`parse` as plain (leader, [(tag, data)]): the same checks and messages, without an
    object per field — the bulk import calls this for every record."""
    if len(chunk) < 25:
        raise MarcStructureError(f"truncated record: {len(chunk)} bytes, shorter than a leader")
    leader = chunk[:24]
    length_txt, base_txt = leader[0:5], leader[12:17]
    if not (length_txt.isdigit() and base_txt.isdigit()):
        raise MarcStructureError(
            f"bad leader: record length {length_txt!r} / base address {base_txt!r} not numeric"
        )
    declared, base = int(length_txt), int(base_txt)
    if chunk[-1] != RECORD_TERMINATOR:
        raise MarcStructureError(
            f"truncated record: no record terminator (leader says {declared} bytes, "
            f"{len(chunk)} present)"
        )
    if base < 25 or base > len(chunk):
        raise MarcStructureError(f"bad leader: base address {base} outside the record")
    if chunk[base - 1] != FIELD_TERMINATOR:
        raise MarcStructureError(f"bad directory: no field terminator before base address {base}")
    directory = chunk[24 : base - 1]
    if len(directory) % 12:
        raise MarcStructureError(
            f"bad directory: {len(directory)} bytes is not a whole number of 12-byte entries"
        )
    entries, bad_entry = _directory(directory)
    body = chunk[base:]
    size = len(body)
    fields: list[tuple[str, bytes]] = []
    data_end = 0
    for tag, len_txt, start_txt in entries:
        flen, fstart = int(len_txt), int(start_txt)
        end = fstart + flen
        if end > size:
            raise MarcStructureError(
                f"bad directory: field {tag} at {fstart}+{flen} runs past the "
                f"end of the record ({size} data bytes)"
            )
        if end > data_end:
            data_end = end
        if flen and body[end - 1] == FIELD_TERMINATOR:
            end -= 1  # the data without its terminator
        elif body.find(_FIELD_END, fstart, end) != -1:
            raise MarcStructureError(
                f"bad directory: field {tag} length {flen} does not end at a field terminator"
            )
        fields.append((tag, body[fstart:end]))
    if bad_entry:
        raise MarcStructureError(bad_entry)
    # Exports that transcode often leave a stale length in the leader; that alone is
    # harmless when the directory accounts for every byte.  When neither agrees, part of
    # the record is missing (or another record's bytes follow it).
    if declared != len(chunk) and data_end + 1 != size:
        raise MarcStructureError(
            f"truncated record: leader says {declared} bytes, directory covers "
            f"{base + data_end + 1}, but {len(chunk)} bytes are present"
        )
    return leader, fields


def _directory(directory: bytes) -> tuple[list[tuple[str, str, str]], str]:
    """(tag, length, start) of each entry, split by one regex, and '' — or, when an entry is
    malformed, the entries before it and the complaint about it.  The caller checks those
    entries first, so the first problem in the record is the one reported."""
    text = directory.decode("latin-1")
    entries = _ENTRY.findall(text)
    if len(entries) * 12 == len(text):  # n matches of 12 characters: every entry is good
        return entries, ""
    matched = _ENTRIES.match(text)  # matches the empty string at least
    good = matched.end() if matched else 0
    k = good // 12
    return entries[:k], f"bad directory: entry {k + 1} is {directory[good : good + 12]!r}"


def write(leader: str, fields: list[tuple[str, str, list[tuple[str, str]] | str]],
          encoding: str = "utf-8") -> bytes:
    """Build one ISO 2709 record: lengths are counted in bytes of `encoding`.

    `fields` is [(tag, indicators, subfields)] for data fields, [(tag, "", value)] for
    control fields.  Leader positions 0–4 and 12–16 are filled in; the rest is kept.
    """
    body = bytearray()
    directory = bytearray()
    for tag, ind, content in fields:
        if isinstance(content, str):
            data = content.encode(encoding)
        else:
            data = ind.encode("ascii") + b"".join(
                bytes([SUBFIELD_DELIMITER]) + code.encode("ascii") + value.encode(encoding)
                for code, value in content
            )
        data += bytes([FIELD_TERMINATOR])
        if len(data) > 9999:
            raise ValueError(f"field {tag} is {len(data)} bytes: ISO 2709 allows 9999")
        directory += f"{tag}{len(data):04d}{len(body):05d}".encode("ascii")
        body += data
    base = 24 + len(directory) + 1
    total = base + len(body) + 1
    if total > 99999:
        raise ValueError(f"record is {total} bytes: ISO 2709 allows 99999 (use MARCXML)")
    lead = f"{total:05d}{leader[5:12]}{base:05d}{leader[17:24]}".encode("ascii")
    return bytes(lead + directory + bytes([FIELD_TERMINATOR]) + body + bytes([RECORD_TERMINATOR]))
