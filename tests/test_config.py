"""config.yaml validation: mistakes are reported with the file, the entry and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.config import ConfigError, load, parse

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"


def _base() -> dict:
    return yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8"))


def test_repository_config_is_valid():
    config = load(REPO_CONFIG)
    assert {"SXPL", "XYLIB", "SMLIB"} <= set(config.libraries)
    assert config.libraries["SXPL"].level == "province"
    assert all(s.library in config.libraries for s in config.sources)
    retro = config.source("sxpl-retro")
    assert [h.tag for h in retro.holdings] == ["905", "906"]
    assert config.resolve(config.index.path).is_absolute()


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["libraries"][0].update(colour="red"),
         "libraries[0] (SXPL): unknown key 'colour'"),
        (lambda d: d["libraries"][1].pop("region"),
         "libraries[1] (XYLIB): missing required field 'region'"),
        (lambda d: d["sources"][0].update(library="NOPE"),
         "library 'NOPE' is not defined — use one of: SXPL, XYLIB, SMLIB"),
        (lambda d: d["sources"][0].update(protocol="gopher"), "'gopher' is not one of: z3950"),
        (lambda d: d["sources"][0].update(mode="sometimes"), ".mode: 'sometimes' is not one of"),
        (lambda d: d["sources"][0].update(encoding="latin-9"), ".encoding: 'latin-9'"),
        (lambda d: d["sources"][1]["holdings"][1].update(barcode="bb"),
         "barcode must be a subfield code"),
        (lambda d: d.update(extra=1), "the top level: unknown key 'extra'"),
        (lambda d: d["portal"].update(port=99999), "portal.port"),
        (lambda d: d.update(index={"cache_entries": -1}), "index.cache_entries"),
        (lambda d: d.update(index={"cache_entries": "lots"}), "index.cache_entries"),
        (lambda d: d["sources"].append(dict(d["sources"][0])), "is used twice"),
    ],
)
def test_mistakes_name_file_entry_and_fix(mutate, expected):
    data = _base()
    mutate(data)
    with pytest.raises(ConfigError) as e:
        parse(data, Path("/etc/tongjian/config.yaml"))
    assert str(e.value).startswith("/etc/tongjian/config.yaml: ")
    assert expected in str(e.value)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("libraries: [", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load(bad)


def test_trusted_proxies_are_ip_networks(tmp_path: Path) -> None:
    base = {"libraries": [], "sources": []}
    config = parse({**base, "portal": {"trusted_proxies": ["127.0.0.1", "10.0.0.0/8", "::1"]}},
                   tmp_path / "c.yaml")
    assert config.portal.trusted_proxies == ("127.0.0.1/32", "10.0.0.0/8", "::1/128")
    assert parse(base, tmp_path / "c.yaml").portal.trusted_proxies == ()
    with pytest.raises(ConfigError, match=r"trusted_proxies\[1\]: 'nginx' is not an IP"):
        parse({**base, "portal": {"trusted_proxies": ["127.0.0.1", "nginx"]}},
              tmp_path / "c.yaml")
