"""`tongjian serve --workers 2` as an operator runs it: two portal processes over one store
and one index on disk; a commit by another process is seen by both; a worker that dies is
started again; stopping the parent stops them all."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote
from urllib.request import urlopen

import pytest
import yaml

from core.config import load
from core.model import Record
from harvest.pipeline import rebuild_index
from harvest.store import RecordStore
from index.documents import cluster_document
from index.tantivy_backend import TantivyBackend
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {
    "libraries": [{"code": "SXPL", "name": "陕西省图书馆", "region": "西安市",
                   "level": "province"}],
    "sources": [{"name": "sx", "library": "SXPL", "protocol": "z3950",
                 "address": "127.0.0.1:1/Default"}],
    "store": {"path": "store.db"},
    "index": {"path": "index"},
}


def _total(port: int, q: str) -> int:
    with urlopen(f"http://127.0.0.1:{port}/api/search?q={quote(q)}", timeout=20) as resp:  # noqa: S310
        return int(json.load(resp)["total"])


def _wait_for(predicate, seconds: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(CONFIG, allow_unicode=True),
                                          encoding="utf-8")
    config = load(tmp_path / "config.yaml")
    store = RecordStore(tmp_path / "store.db")
    store.put(Record(source="sx", source_id="1", library="SXPL", title="红楼梦"), b"raw", "t")
    store.commit()
    backend = TantivyBackend(tmp_path / "index")
    rebuild_index(store, backend, config, show_progress=False)
    backend.close()
    store.close()
    port = free_port()
    while _listening(port + 1):
        port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tongjian.cli", "--config",
                             str(tmp_path / "config.yaml"), "serve", "--workers", "2",
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        assert _wait_for(lambda: _listening(port) and _listening(port + 1)), \
            proc.stderr.read().decode() if proc.poll() is not None and proc.stderr else ""
        yield tmp_path, port
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert not _listening(port) and not _listening(port + 1)  # the workers stopped too
        out = proc.stdout.read().decode() if proc.stdout else ""
        assert "hash $binary_remote_addr consistent" in out  # the nginx block to paste


def test_workers_share_the_index_and_are_restarted(site: tuple[Path, int]) -> None:
    folder, port = site
    assert [_total(port, "红楼梦"), _total(port + 1, "红楼梦")] == [1, 1]
    assert [_total(port, "石头记"), _total(port + 1, "石头记")] == [0, 0]
    # A harvest in another process (here: this one) updates the index on disk.
    writer = TantivyBackend(folder / "index")
    record = Record(source="sx", source_id="2", library="SXPL", title="石头记")
    writer.add([cluster_document("c-stone", [record], load(folder / "config.yaml").libraries)])
    writer.commit()
    writer.close()
    assert _wait_for(lambda: _total(port, "石头记") == 1 and _total(port + 1, "石头记") == 1,
                     seconds=10)
    # A worker that dies is started again, on its port, over the same store and index.
    parents = [p for p in _children(os.getpid()) if _children(p)]
    workers = [w for p in parents for w in _children(p)]
    assert len(workers) == 2
    second = next(w for w in workers
                  if f"--port\x00{port + 1}" in Path(f"/proc/{w}/cmdline").read_text())
    assert "--no-schedule" in Path(f"/proc/{second}/cmdline").read_text()  # worker 0 harvests
    os.kill(second, signal.SIGKILL)
    assert _wait_for(lambda: not _listening(port + 1), seconds=10)
    assert _wait_for(lambda: _total(port + 1, "石头记") == 1)


def test_the_workers_nginx_site_passes_nginx_t_and_pins_clients(tmp_path: Path) -> None:
    from tests.test_deploy import nginx_check

    site = (ROOT / "deploy" / "nginx-tongjian-workers.conf").read_text(encoding="utf-8")
    result = nginx_check(site, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hash $binary_remote_addr consistent;" in site  # one client, one worker
    assert "location ~ ^/(api/)?admin {\n        proxy_pass http://127.0.0.1:8080;" in site
    assert "proxy_buffering off" in site
    broken = nginx_check(site.replace("upstream tongjian", "upstream other"), tmp_path)
    assert broken.returncode != 0  # `proxy_pass http://tongjian` needs the upstream
