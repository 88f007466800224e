"""The production files of docs/deploy.md, checked by the tools that will read them.

nginx checks the reverse-proxy site with `nginx -t` (a throw-away main config around it, a
self-signed certificate in place of the real one); systemd checks the units with
`systemd-analyze verify` (paths pointed at this checkout's `tongjian`, which must exist
and be executable).  Each check is shown to reject a broken copy, so a pass means
something.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
TONGJIAN = Path(sys.executable).parent / "tongjian"


def nginx_check(site: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    if not shutil.which("nginx") or not shutil.which("openssl"):
        pytest.skip("nginx or openssl is not installed (./run test installs nginx-light)")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(tmp / "key.pem"),
                    "-out", str(tmp / "cert.pem")], check=True, capture_output=True)
    (tmp / "site.conf").write_text(
        site.replace("/etc/ssl/tongjian/fullchain.pem", str(tmp / "cert.pem"))
            .replace("/etc/ssl/tongjian/privkey.pem", str(tmp / "key.pem")), encoding="utf-8")
    (tmp / "nginx.conf").write_text(
        f"pid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {tmp}/site.conf;\n}}\n", encoding="utf-8")
    return subprocess.run(["nginx", "-t", "-c", str(tmp / "nginx.conf"), "-p", str(tmp)],
                          capture_output=True, text=True)


def test_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    site = (DEPLOY / "nginx-tongjian.conf").read_text(encoding="utf-8")
    result = nginx_check(site, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    # what the portal relies on: the forwarded headers, and no buffering of live search
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"):
        assert f"proxy_set_header {header}" in site
    assert "proxy_buffering off" in site


def test_nginx_t_rejects_a_broken_site(tmp_path: Path) -> None:
    site = (DEPLOY / "nginx-tongjian.conf").read_text(encoding="utf-8")
    result = nginx_check(site.replace("proxy_pass http://127.0.0.1:8080;",
                                      "proxy_pass http://127.0.0.1:8080", 1), tmp_path)
    assert result.returncode != 0


def verify(units: list[Path]) -> subprocess.CompletedProcess[str]:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    return subprocess.run(["systemd-analyze", "verify", *map(str, units)],
                          capture_output=True, text=True)


def local_units(tmp: Path, break_exec: bool = False) -> list[Path]:
    """The units with this checkout's paths, as an installer would write them."""
    assert TONGJIAN.exists(), "the tongjian command is installed in the test's venv"
    (tmp / "secrets.env").write_text("", encoding="utf-8")
    out = []
    for name in ("tongjian.service", "tongjian-backup.service", "tongjian-backup.timer"):
        text = (DEPLOY / name).read_text(encoding="utf-8")
        binary = "/nonexistent/tongjian" if break_exec else str(TONGJIAN)
        text = (text.replace("/opt/tongjian/venv/bin/tongjian", binary)
                    .replace("/etc/tongjian/secrets.env", str(tmp / "secrets.env")))
        (tmp / name).write_text(text, encoding="utf-8")
        out.append(tmp / name)
    return out


def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    result = verify(local_units(tmp_path))
    assert result.returncode == 0, result.stderr
    service = (DEPLOY / "tongjian.service").read_text(encoding="utf-8")
    assert "serve --host 127.0.0.1" in service and "EnvironmentFile=" in service


def test_systemd_analyze_rejects_a_missing_binary(tmp_path: Path) -> None:
    result = verify(local_units(tmp_path, break_exec=True))
    assert result.returncode != 0 and "not executable" in result.stderr
