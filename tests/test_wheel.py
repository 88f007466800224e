"""The wheel is the release: built from this tree, installed into a fresh venv, it runs
outside the source tree with every file it needs (templates, static files and covers,
Zebra configs, demo data).

Dependencies come from the test's own environment (a path line in the new venv), so
the test needs no network and checks exactly what the wheel itself carries; it runs
from a folder with no source code in it, so nothing can be picked up from the checkout.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

CHECK_FILES = """
import importlib.util, pathlib, sys
def folder(package):
    return pathlib.Path(importlib.util.find_spec(package).origin).parent
for package, files in {
    "portal": ["templates/record.html", "templates/search.html", "static/style.css",
               "static/live.js", "static/covers/book.svg", "static/favicon.ico",
               "locale/en/LC_MESSAGES/messages.po"],
    "tongjian": ["zebra_conf/tongjian-unimarc.abs", "demo_data/SXPL.cnmarc.utf8.iso",
                 "demo_data/README.md"],
}.items():
    base = folder(package)
    assert str(base).startswith(sys.prefix), (package, base)  # the wheel's copy, not the tree
    missing = [f for f in files if not (base / f).is_file()]
    assert not missing, (package, missing)
from portal.i18n import translations  # the catalogue compiles from the wheel's .po
assert translations("en").gettext("检索") == "Search"
print("files ok")
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    # built from a copy: an in-tree build would leave build/ and *.egg-info in the checkout
    source = tmp / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "var", "build", "*.egg-info", "__pycache__", ".*_cache", "tests"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp / "dist"), str(source)], check=True, cwd=tmp)
    [wheel] = (tmp / "dist").glob("tongjian-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True,
                   cwd=tmp)
    # the test environment's third-party packages, after the venv's own (and the wheel's)
    deps = sysconfig.get_paths()["purelib"]
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True)
    (Path(site.stdout.strip()) / "test-deps.pth").write_text(deps + "\n", encoding="utf-8")
    return env_dir


def run(env_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(env_dir / "bin" / "tongjian"), *args], capture_output=True,
                          text=True, cwd=cwd, timeout=60)


def test_the_wheel_runs_outside_the_source_tree(installed: Path, tmp_path: Path) -> None:
    help_text = run(installed, "--help", cwd=tmp_path)
    assert help_text.returncode == 0, help_text.stderr
    for command in ("serve", "harvest", "backup", "restore", "demo"):
        assert command in help_text.stdout
    from core.version import installed_version

    version = run(installed, "--version", cwd=tmp_path)
    assert version.stdout.strip() == f"tongjian {installed_version()}"
    (tmp_path / "config.yaml").write_text(
        (ROOT / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    check = run(installed, "config", "check", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "OK — 10 libraries, 9 sources" in check.stdout
    files = subprocess.run([str(installed / "bin" / "python"), "-c", CHECK_FILES],
                           capture_output=True, text=True, cwd=tmp_path)
    assert files.returncode == 0, files.stderr
    broken = run(installed, "--config", "missing.yaml", "config", "check", cwd=tmp_path)
    assert broken.returncode == 2 and "missing.yaml" in broken.stderr
