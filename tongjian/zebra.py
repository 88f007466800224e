"""Run a real Zebra Z39.50/SRU server on loopback, for the demo and the tests.

Why a real server and not a mock: the Z39.50 connector's hard parts (BER, present
chunks, record syntaxes, diagnostics, SRU on the same port) are exactly what a mock
would get wrong.  Zebra is Index Data's own server, built on the same YAZ as the client.

What this sets up (checked against zebra 2.2.7 / YAZ 5.34 / ICU 72 on Debian):

* Records are read by the ``grs.marcxml`` filter with Tongjian's own profiles, shipped
  in ``tongjian/zebra_conf`` and copied into ``<workdir>/conf`` at start:
  ``tongjian-marc21.abs`` (Zebra's marc21.abs plus ISBN 020, ISSN 022, 880) and
  ``tongjian-unimarc.abs`` (CNMARC/UNIMARC: 200 title, 7XX$a author, 010$a ISBN,
  60X subject, 690$a CLC as Local-classification, pinyin $A subfields too).
* Full harvest: ``@attr 1=_ALLRECORDS @attr 2=103 ""`` finds every record, in load
  order, and presents the stored ISO 2709 bytes unchanged — checked byte for byte for
  MARC21 UTF-8 (yaz marccol1), CNMARC UTF-8 (dp2) and the same CNMARC in GB18030.
* Record syntaxes (a YAZ front-end ``retrievalinfo``): flavour "marc21" serves USMARC;
  flavour "unimarc" serves UNIMARC *and* USMARC (same bytes), so asking for UNIMARC
  no longer gives diagnostic 238 (asking a "marc21" server for UNIMARC gives 239).
  XML (element set "marcxml", or none) is clean MARCXML made by YAZ from the stored
  record in the server's charset — Zebra's own XML would append an <idzebra> element
  with the server's file paths.  ``zebra::data`` (syntax XML) gives the stored bytes.
* Searching: Bib-1 use attributes 4 title, 1003 author, 7 ISBN, 21 subject,
  20 local classification (CNMARC 690 = CLC), 1016 any, 12 local number, with ICU word
  indexes: Chinese text is segmented by ICU's dictionary word breaker, so 中国 finds
  '94中国发展报告, and a multi-word query term (中国发展报告) is matched word by word.
  Full-width forms are folded (NFKC), traditional characters to simplified (中國 finds
  中国 and back), Latin diacritics dropped (Zhōng = zhong, Köln = koln), case ignored.
* Charsets: each record file has an encoding (``RecordFile``), one per server (a
  member library's system has one).  Zebra converts a copy of each record to UTF-8
  for indexing only.  UTF-8 and GB18030 CNMARC are both word-searchable in Chinese and
  both served byte-identical.  MARC-8 MARC21 (``RecordFile(path, "marc-8")``) is
  served unchanged and searchable with its diacritics (YAZ's MARC-8 decoder).
* SRU (GET/POST/SOAP) is served on the same port: the front-end config maps CQL to
  Bib-1 (``tongjian-cql2pqf.txt``: dc.title, dc.creator, dc.subject, bath.isbn,
  cql.serverChoice, cql.allRecords …); Zebra's ``x-pquery`` extension (what ZOOM sends
  for a PQF query over SRU) works too.  SRU records are MARCXML (for UNIMARC too, in
  the MARC21 slim namespace), recordSchema "marcxml" or none.

What does not work / is not attempted:

* Zebra has no notion of CNMARC beyond what the .abs maps; 880 fields of MARC21 records
  are only in the "any" index (their role is only named inside $6).
* Pinyin is searchable only where the record carries it ($A subfields); ISBNs match
  as written in the record (7-5037-1744-0 is found, 7503717440 is not).
* A term made only of punctuation (a lone quote) matches every record, because the
  ICU chain removes punctuation and Zebra lets an empty term match; the connector
  never sends such terms.
* Bib-1 use attributes with no indexed data at all in the database answer with
  diagnostic 114 rather than 0 hits (e.g. ISBN on yaz's marccol1, which has no 020$a).
* Records whose ISO 2709 structure YAZ repairs while reading are served repaired:
  5 of the 1000 Evergreen jazz_1k records end a field with a stray subfield delimiter,
  which is dropped (995 come back byte-identical).  The untouched stored bytes are
  available with record syntax XML and element set ``zebra::data``.
* Phrase (complete field, @attr 6=3) searches only exist for the fields the .abs marks
  with ``:p`` (title, author, 606$a, 690$a).

Processes: ``zebrasrv`` runs threaded (``-T``, one process) in its own session, bound
to 127.0.0.1 only; ``stop()`` terminates the process group and waits (SIGKILL after
3 s).  If ``start()`` fails halfway, everything it started is stopped before the error
propagates.  Indexing ~1000 records takes about 0.5 s, a 10-record server starts in
under 0.1 s.

Package data: ``tongjian/zebra_conf`` holds .abs, .idx, .mar, .xml and .txt files; the
pyproject ``package-data`` globs must include ``*.idx`` and ``*.mar`` for installed
(non-editable) copies.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Self
from xml.sax.saxutils import escape

CONF_DIR = Path(__file__).with_name("zebra_conf")
TAB_DIRS = (Path("/usr/share/idzebra-2.0/tab"), Path("/usr/local/share/idzebra-2.0/tab"))
MODULE_DIRS = (
    Path("/usr/lib/x86_64-linux-gnu/idzebra-2.0/modules"),
    Path("/usr/lib/aarch64-linux-gnu/idzebra-2.0/modules"),
    Path("/usr/lib/idzebra-2.0/modules"),
    Path("/usr/local/lib/idzebra-2.0/modules"),
)
MARC_FILTER_MODULE = "mod-grs-marc.so"  # provides grs.marcxml; without it 0 records load

Flavour = Literal["marc21", "unimarc"]
PROFILES: dict[str, str] = {"marc21": "tongjian-marc21", "unimarc": "tongjian-unimarc"}

_ENCODING_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_RECORDS_RE = re.compile(r"Records:\s+(\d+)")


class ZebraError(RuntimeError):
    """Zebra could not be configured, indexed or started; the message says which step."""


@dataclass(frozen=True)
class RecordFile:
    """An ISO 2709 file to load, with the charset its text is in.

    The charset is used to index (Zebra needs UTF-8 to index words) and to build
    MARCXML; ISO 2709 is stored and served as the file's own bytes.  Names are
    iconv/YAZ names: "utf-8", "gb18030", "marc-8" …
    """

    path: Path
    encoding: str = "utf-8"


def _find_dir(candidates: Sequence[Path], must_contain: str, glob: str = "") -> Path:
    """First candidate holding ``must_contain``; ``glob`` (under /usr/lib) adds more."""
    extra = sorted(Path("/usr/lib").glob(glob)) if glob else []
    for d in [*candidates, *extra]:
        if (d / must_contain).exists():
            return d
    raise ZebraError(
        f"no Zebra directory containing {must_contain} (looked in "
        f"{', '.join(map(str, candidates))}); is idzebra-2.0 installed?"
    )


def _executable(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ZebraError(f"{name} not found on PATH; install the idzebra-2.0 package")
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int, pid: int, host: str = "127.0.0.1") -> bool:
    """Is process ``pid`` listening on host:port (an IPv4 address)?

    On Linux this matches /proc/net/tcp against the process's socket inodes instead
    of connecting: a probe connection makes zebrasrv open a session and initialise
    its backend (a SIGTERM arriving during that leaves it hanging until SIGKILL), and
    a bare "port accepts connections" would also be true for someone else's socket.
    """
    try:
        table = Path("/proc/net/tcp").read_text(encoding="ascii").splitlines()[1:]
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            return False
    wanted = f"{socket.inet_aton(host)[::-1].hex().upper()}:{port:04X}"
    inodes = {cols[9] for cols in (line.split() for line in table)
              if len(cols) > 9 and cols[1] == wanted and cols[3] == "0A"}  # 0A = LISTEN
    if not inodes:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(fd) in {f"socket:[{i}]" for i in inodes}:
                return True
    return False


def _slug(encoding: str) -> str:
    return re.sub(r"[^a-z0-9]", "", encoding.lower())


class ZebraServer:
    """A Zebra server over a fresh register in ``workdir``; use as a context manager.

    ``record_files`` are ISO 2709 files (``Path`` = UTF-8, or ``RecordFile`` with a
    charset).  ``port=0`` picks a free port.  After ``start()``: ``address`` is
    "127.0.0.1:PORT/<database>" for Z39.50, ``sru_url`` the same over HTTP, and
    ``indexed`` maps each file to the number of records Zebra stored from it.
    """

    def __init__(
        self,
        workdir: Path,
        flavour: Flavour,
        record_files: Sequence[Path | RecordFile],
        port: int = 0,
        database: str = "Default",
        *,
        startup_timeout: float = 10.0,
        host: str = "127.0.0.1",
        opac_from_852: bool = False,
    ) -> None:
        if flavour not in PROFILES:
            raise ValueError(f"flavour must be one of {sorted(PROFILES)}, not {flavour!r}")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", database):
            raise ValueError(f"database name {database!r}: use letters, digits, _ and -")
        self.workdir = Path(workdir).resolve()
        self.flavour = flavour
        self.record_files = [f if isinstance(f, RecordFile) else RecordFile(Path(f))
                             for f in record_files]
        for rf in self.record_files:
            if not _ENCODING_RE.match(rf.encoding):
                raise ValueError(f"{rf.path}: bad encoding name {rf.encoding!r}")
        charsets = {_slug(rf.encoding) for rf in self.record_files}
        if len(charsets) > 1:
            # MARCXML is made from the stored bytes with one input charset per server.
            raise ValueError("all record files of one server must share one encoding, "
                             f"got {sorted(rf.encoding for rf in self.record_files)}")
        self.charset = self.record_files[0].encoding if self.record_files else "utf-8"
        self.database = database
        self.host = host  # an IPv4 address to listen on; loopback unless told otherwise
        # OPAC record syntax made from the record's 852 holdings (tongjian zserver's MARC 21
        # entries); member simulations keep Zebra's "no OPAC" (239), as real Zebras answer.
        self.opac_from_852 = opac_from_852
        self.startup_timeout = startup_timeout
        self._requested_port = port
        self._port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.indexed: dict[Path, int] = {}

    # -- public API ---------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise ZebraError("server not started")
        return self._port

    @property
    def address(self) -> str:
        """Z39.50 address as the connector takes it: host:port/database."""
        return f"127.0.0.1:{self.port}/{self.database}"

    @property
    def sru_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.database}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def log_path(self) -> Path:
        return self.workdir / "zebrasrv.log"

    def start(self) -> Self:
        """Write config, index every file, start zebrasrv; stop again if any step fails."""
        self.prepare()
        return self.serve()

    def prepare(self) -> Self:
        """Write config and index every file (no server yet): a new register can be built
        while another server still answers on the port."""
        if self._proc is not None:
            raise ZebraError("server already started")
        self._write_config()
        self._index()
        return self

    def serve(self) -> Self:
        """Start zebrasrv over the prepared register."""
        try:
            self._serve()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Terminate zebrasrv (and anything in its process group) and wait for it."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:  # seen when a session is still initialising
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __del__(self) -> None:  # last resort against a leaked zebrasrv; call stop()
        with contextlib.suppress(Exception):
            self.stop()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- configuration --------------------------------------------------------------
    def _profile_for(self, encoding: str) -> str:
        """The .abs profile name for this flavour and charset (variants are generated)."""
        base = PROFILES[self.flavour]
        return base if _slug(encoding) == "utf8" else f"{base}-{_slug(encoding)}"

    def _write_config(self) -> None:
        tab = _find_dir(TAB_DIRS, "bib1.att")
        modules = _find_dir(MODULE_DIRS, MARC_FILTER_MODULE, "*/idzebra-2.0/modules")
        conf = self.workdir / "conf"
        for sub in ("conf", "register", "lock", "tmp"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        for src in CONF_DIR.iterdir():
            if src.is_file():
                shutil.copyfile(src, conf / src.name)
        base_abs = (conf / f"{PROFILES[self.flavour]}.abs").read_text(encoding="utf-8")
        for rf in self.record_files:
            profile = self._profile_for(rf.encoding)
            if profile != PROFILES[self.flavour]:
                text = re.sub(r"(?m)^encoding .*$", f"encoding {rf.encoding}", base_abs)
                (conf / f"{profile}.abs").write_text(text, encoding="utf-8")
        # Relative paths: the Zebra tools run with cwd=workdir, so the workdir's own path
        # (which may contain characters zebra.cfg cannot quote) never appears here.
        cfg = "\n".join([
            "# Written by tongjian.zebra; regenerated on every start.",
            f"profilePath: conf:{tab}",
            f"modulePath: {modules}",
            "attset: bib1.att",
            "attset: explain.att",
            "index: tongjian-icu.idx",
            "encoding: UTF-8",  # charset of query terms (the default is ISO-8859-1)
            f"recordType: grs.marcxml.{PROFILES[self.flavour]}",
            "register: register:4G",
            "lockDir: lock",
            "keyTmpDir: tmp",
            "",
        ])
        (self.workdir / "zebra.cfg").write_text(cfg, encoding="utf-8")

    def _retrievalinfo(self) -> str:
        """Record syntaxes the front end offers, and how XML is made.

        Zebra's own XML rendering of a MARC record appends an <idzebra> element (size,
        local number, the server's file path); YAZ's MARC-to-MARCXML conversion of the
        stored record gives clean MARCXML instead, for Z39.50 and SRU alike.  The
        ``zebra::*`` element sets stay reachable (``zebra::data`` = stored bytes).
        """
        native = "unimarc" if self.flavour == "unimarc" else "usmarc"
        charset = escape(self.charset, {'"': "&quot;"})
        to_marcxml = (
            f'<backend syntax="{native}" name="F"><marc inputformat="marc" '
            f'outputformat="marcxml" inputcharset="{charset}" outputcharset="utf-8"/>'
            "</backend>"
        )
        entries = ['<retrieval syntax="usmarc"/>']
        if self.opac_from_852 and self.flavour == "marc21":
            entries.append(
                f'<retrieval syntax="opac"><backend syntax="usmarc" name="F"><marc '
                f'inputformat="marc" outputformat="marcxml" inputcharset="{charset}" '
                'outputcharset="utf-8"/><xslt stylesheet="conf/tongjian-marcxml2opac.xsl"/>'
                "</backend></retrieval>")
        if self.flavour == "unimarc":
            entries.append('<retrieval syntax="unimarc"/>')
        entries += [
            f'<retrieval syntax="xml" name="marcxml" '
            f'identifier="info:srw/schema/1/marcxml-v1.1">{to_marcxml}</retrieval>',
            f'<retrieval syntax="xml">{to_marcxml}</retrieval>',
            '<retrieval syntax="xml" name="zebra::*"/>',
            '<retrieval syntax="sutrs" name="zebra::*"/>',
        ]
        return "".join(f"      {e}\n" for e in entries)

    def _gfs_config(self, port: int) -> Path:
        """YAZ front-end config: listener on loopback, CQL->PQF for SRU, syntaxes."""
        xml = (
            "<yazgfs>\n"
            f"  <listen id=\"loopback\">tcp:{self.host}:{port}</listen>\n"
            "  <server id=\"zebra\" listenref=\"loopback\">\n"
            "    <config>zebra.cfg</config>\n"
            "    <cql2rpn>conf/tongjian-cql2pqf.txt</cql2rpn>\n"
            "    <retrievalinfo>\n"
            f"{self._retrievalinfo()}"
            "    </retrievalinfo>\n"
            "  </server>\n"
            "</yazgfs>\n"
        )
        path = self.workdir / "yazgfs.xml"
        path.write_text(xml, encoding="utf-8")
        return path

    # -- indexing -------------------------------------------------------------------
    def _run_zebraidx(self, args: list[str], what: str) -> str:
        cmd = [_executable("zebraidx"), "-c", "zebra.cfg", *args]
        try:
            done = subprocess.run(cmd, cwd=self.workdir, capture_output=True, timeout=300,
                                  check=False)
        except subprocess.TimeoutExpired as exc:
            raise ZebraError(f"zebraidx timed out on {what}") from exc
        log = done.stderr.decode("utf-8", errors="replace")
        if done.returncode != 0 or "[fatal]" in log:
            raise ZebraError(
                f"zebraidx failed on {what} (exit {done.returncode}):\n{log[-4000:]}"
            )
        return log

    def _index(self) -> None:
        self._run_zebraidx(["init"], "init")
        self.indexed = {}
        for rf in self.record_files:
            path = rf.path.resolve()
            if not path.is_file():
                raise ZebraError(f"record file {path} does not exist")
            log = self._run_zebraidx(
                ["-t", f"grs.marcxml.{self._profile_for(rf.encoding)}", "-d", self.database,
                 "update", str(path)],
                str(path),
            )
            counts = [int(n) for n in _RECORDS_RE.findall(log)]
            stored = counts[-1] if counts else 0
            if stored == 0 and path.stat().st_size > 0:
                raise ZebraError(f"zebraidx stored no records from {path}:\n{log[-4000:]}")
            self.indexed[rf.path] = stored

    # -- serving --------------------------------------------------------------------
    def _serve(self) -> None:
        # A picked free port can be taken by someone else before zebrasrv binds it;
        # retry with a new one rather than failing the whole start.
        attempts = 1 if self._requested_port else 3
        last_error: ZebraError | None = None
        for _ in range(attempts):
            port = self._requested_port or _free_port()
            try:
                self._launch(port)
                self._port = port
                return
            except ZebraError as exc:
                last_error = exc
                self.stop()
        assert last_error is not None
        raise last_error

    def _launch(self, port: int) -> None:
        gfs = self._gfs_config(port)
        cmd = [_executable("zebrasrv"), "-T", "-f", gfs.name, "-l", self.log_path.name]
        self._proc = subprocess.Popen(cmd, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ZebraError(
                    f"zebrasrv exited with {self._proc.returncode} on port {port}:\n"
                    f"{self._log_tail()}"
                )
            if _listening(port, self._proc.pid, self.host):
                return
            time.sleep(0.02)
        raise ZebraError(
            f"zebrasrv did not accept connections on 127.0.0.1:{port} within "
            f"{self.startup_timeout:g} s:\n{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
        except OSError:
            return "(no log)"
