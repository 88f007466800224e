"""`offer:` in config.yaml: each endpoint for other systems on/off, networks, budgets —
and a clear error for what cannot be honoured."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, OfferConfig, parse
from tests.test_sru import CONFIG


def offer(tmp_path: Path, block: object) -> OfferConfig:
    return parse({**CONFIG, "offer": block}, tmp_path / "config.yaml").offer


def test_defaults_and_settings(tmp_path: Path) -> None:
    default = parse(dict(CONFIG), tmp_path / "config.yaml").offer
    assert default.oai.enabled and default.sru.enabled and not default.z3950.enabled
    got = offer(tmp_path, {"admin_email": "union@sxlib.org.cn",
                           "sru": {"networks": ["10.0.0.0/8", "192.168.1.5"], "per_minute": 5},
                           "z3950": {"enabled": True, "port": 2101}})
    assert got.sru.networks == ("10.0.0.0/8", "192.168.1.5/32") and got.sru.per_minute == 5
    assert got.z3950.enabled and got.z3950.port == 2101 and got.oai.enabled
    assert got.admin_email == "union@sxlib.org.cn"


@pytest.mark.parametrize(("block", "words"), [
    ({"oai": {"enabled": "yes"}}, "offer.oai: enabled"),
    ({"sru": {"per_minute": 0}}, "per_minute"),
    ({"sru": {"networks": ["intranet"]}}, "offer.sru.networks[0]"),
    ({"z3950": {"networks": ["10.0.0.0/8"]}}, "firewall"),
    ({"z3950": {"port": 70000}}, "port"),
    ({"ftp": {}}, "unknown key 'ftp'"),
    ({"admin_email": "nobody"}, "e-mail"),
])
def test_bad_blocks_say_what_to_fix(tmp_path: Path, block: object, words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        offer(tmp_path, block)
    assert words in str(raised.value)
