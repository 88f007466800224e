"""`tongjian zserver`: the merged catalogue over Z39.50, served by a Zebra that Tongjian
keeps in step — searched and presented by yaz-client (a real Z39.50 client), with
character-set negotiation to GB18030 and both MARC flavours."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from core.config import parse
from harvest.pipeline import update_index
from tests.test_sru import CONFIG, RECORDS, book
from tongjian.zserver import CatalogueServer, zserver


def yaz_client(commands: str, cwd: Path) -> str:
    exe = shutil.which("yaz-client")
    if exe is None:
        pytest.skip("yaz-client (package yaz) is not installed")
    done = subprocess.run([exe], input=commands.encode("utf-8"), capture_output=True,
                          timeout=60, cwd=cwd, check=False)
    return done.stdout.decode("utf-8", errors="replace")


@pytest.fixture
def world(make_world):
    if shutil.which("zebrasrv") is None:
        pytest.skip("zebrasrv (package idzebra-2.0) is not installed")
    return make_world(CONFIG, records=RECORDS)


def test_yaz_client_searches_the_marc21_catalogue_in_utf8_and_gb18030(world,
                                                                      tmp_path: Path) -> None:
    server = CatalogueServer(world.store, world.config, tmp_path / "z", "marc21")
    try:
        zebra = server.start()
        assert server.entries == 5
        out = yaz_client(f"open tcp:{zebra.address}\n"
                         "find @attr 1=4 红楼梦\nshow 1+2\n"
                         "find @attr 1=1003 罗贯中\n"
                         "find @attr 1=7 9787020008735\n"
                         "find @attr 1=21 陕西\n"
                         "find @attr 1=1016 史念海\n"
                         "find @attr 1=4 红楼梦\nformat opac\nshow 2\nquit\n", tmp_path)
        hits = [line for line in out.splitlines() if line.startswith("Number of hits")]
        assert [h.split(",")[0] for h in hits] == [
            "Number of hits: 2", "Number of hits: 1", "Number of hits: 1",
            "Number of hits: 1", "Number of hits: 1", "Number of hits: 2"]
        assert "852    $a SXPL $b 借阅区 $h I242.4/1 $p SXPL1" in out
        assert "852    $a XYLIB $b 借阅区 $h I242.4/1 $p XYLIB1" in out
        # OPAC record syntax: the record, and a holding per 852 (no circulation part:
        # the union catalogue cannot say what is on the shelf now)
        opac = out[out.index("Record type: OPAC"):]
        assert "nucCode: SXPL" in opac and "nucCode: XYLIB" in opac
        assert "callNumber: I242.4/1" in opac and "shelvingLocation: 借阅区" in opac
        assert "availableNow" not in opac
        # GB18030 by character-set negotiation: query and records in GB18030
        out = yaz_client("charset GB18030\n"
                         f"open tcp:{zebra.address}\nset_marcdump raw.mrc\n"
                         "find @attr 1=4 三国演义\nshow 1\nquit\n", tmp_path)
        assert "Accepted character set : GB18030" in out
        raw = (tmp_path / "raw.mrc").read_bytes()
        assert "三国演义".encode("gb18030") in raw and "三国演义".encode() not in raw
    finally:
        server.stop()


def test_unimarc_flavour_and_keeping_in_step(world, tmp_path: Path) -> None:
    server = CatalogueServer(world.store, world.config, tmp_path / "z", "unimarc")
    try:
        zebra = server.start()
        assert not server.refresh()  # nothing changed since the export
        out = yaz_client(f"open tcp:{zebra.address}\nformat unimarc\n"
                         "find @attr 1=4 三国演义\nshow 1\nquit\n", tmp_path)
        assert "Record type: Unimarc" in out
        assert "200 1  $a 三国演义" in out and "906    $f SXPL $a SXPL3" in out
        world.store.put(book("xy", "9", "长安志", "宋敏求", "", 1990, "K294.1"), b"raw",
                        "test")
        update_index(world.store, world.backend, world.config, touched={"xy:9"})
        assert server.refresh()
        assert server.server is not None and server.server.port == zebra.port
        out = yaz_client(f"open tcp:{zebra.address}\nfind @attr 1=4 长安志\nquit\n", tmp_path)
        assert "Number of hits: 1" in out
    finally:
        server.stop()


def test_zserver_refuses_when_turned_off(tmp_path: Path, capsys) -> None:
    config = parse(dict(CONFIG), tmp_path / "config.yaml")
    assert zserver(config, "marc21", None, None, 60) == 2
    assert "offer.z3950.enabled" in capsys.readouterr().err
