"""Shared test helpers: where the real data lives, and skipping cleanly without it."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data(relative: str = "") -> Path:
    """Path into ../shared/data; skips the calling test when the folder is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real test data not present: {path} (../shared/data beside the repo)")
    return path


@pytest.fixture
def shared() -> Path:
    return shared_data()


def free_port() -> int:
    """A loopback port that was free a moment ago (connecting to it is refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ztest():
    """yaz-ztest, YAZ's own test server (a second server implementation): "host:port"."""
    import shutil
    import socket
    import subprocess
    import time

    exe = shutil.which("yaz-ztest")
    if exe is None:
        pytest.skip("yaz-ztest (package yaz) is not installed")
    port = free_port()
    proc = subprocess.Popen([exe, f"tcp:127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.02)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=5)


class HangServer:
    """Accepts TCP connections and never says a word — a member server that hangs."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._held: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self._held:
            conn.close()


CHROMIUM = Path("/usr/bin/chromium")
# Flags this machine needs: no sandbox as root, and no calls home (the network is closed).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture
async def browser():
    """Debian's Chromium driven by Playwright (never `playwright install`: no downloads).
    `./run test` installs it; without it the browser tests skip, saying so."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium; ./run test "
                    "installs it)")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()
