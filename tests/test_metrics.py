"""/metrics: valid Prometheus text (0.0.4), counts searches, reports sources, and is not public.

No Prometheus client library is installed, so the output is checked against the format's
grammar line by line here — stricter than a lenient parser would be.
"""

from __future__ import annotations

import re

import pytest

from harvest.scheduler import Scheduler
from portal.auth import METRICS_TOKEN_ENV
from portal.metrics import Exposition, Histogram
from tests.conftest import MakeClient, MakeWorld, World
from tests.test_admin import TOKEN, admin_world, use_credentials

METRICS_TOKEN = "metrics-only-token-0123456789abcdef"
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\\\|\\"|\\n)*"'
PAIR = rf"[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE}"
LABELS = rf"\{{(?:{PAIR}(?:,{PAIR})*)?\}}"
VALUE = r"(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)|[+-]Inf|NaN)"
SAMPLE = re.compile(rf"^({NAME})({LABELS})? ({VALUE})(?: -?\d+)?$")
HELP = re.compile(rf"^# HELP ({NAME}) (.*)$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> tuple[dict[str, str], dict[tuple[str, frozenset], float]]:
    """(metric types, {(name, labels): value}); fails on any line the format forbids."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    samples: dict[tuple[str, frozenset], float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            m = HELP.match(line) or TYPE.match(line)
            assert m, f"bad comment line: {line!r}"
            if line.startswith("# TYPE"):
                assert m.group(1) not in types, f"TYPE twice: {line}"
                types[m.group(1)] = m.group(2)
            continue
        m = SAMPLE.match(line)
        assert m, f"bad sample line: {line!r}"
        name = m.group(1)
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or family in types, f"sample before its TYPE: {line}"
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        key = (name, labels)
        assert key not in samples, f"duplicate sample: {line}"
        samples[key] = float(m.group(3))
    return types, samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


@pytest.fixture
def world(make_world: MakeWorld) -> World:
    return admin_world(make_world)


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    use_credentials(monkeypatch)
    monkeypatch.setenv(METRICS_TOKEN_ENV, METRICS_TOKEN)


async def test_metrics_parse_and_count_a_search(make_client: MakeClient) -> None:
    client = await make_client()
    before = parse(await (await client.get("/metrics")).text())[1]
    assert value(before, "tongjian_search_requests_total", route="search") == 0
    assert (await client.get("/search", params={"q": "红楼梦"})).status == 200
    assert (await client.get("/api/search", params={"q": "红楼梦"})).status == 200
    assert (await client.get("/no/such/page")).status == 404
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    types, samples = parse(await resp.text())
    assert types["tongjian_search_latency_seconds"] == "histogram"
    assert types["tongjian_search_requests_total"] == "counter"
    assert value(samples, "tongjian_search_requests_total", route="search") == 1
    assert value(samples, "tongjian_search_requests_total", route="api_search") == 1
    buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in samples.items()
                      if k[0] == "tongjian_search_latency_seconds_bucket"
                      and dict(k[1])["route"] == "search"))
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)  # cumulative
    assert buckets[-1] == (float("inf"), 1)
    assert value(samples, "tongjian_search_latency_seconds_count", route="search") == 1
    assert value(samples, "tongjian_search_latency_seconds_sum", route="search") > 0
    assert value(samples, "tongjian_http_requests_total", route="/search", status="200") == 1
    assert value(samples, "tongjian_http_requests_total", route="unmatched", status="404") == 1


async def test_source_metrics_from_harvest_history(make_client: MakeClient,
                                                   world: World) -> None:
    client = await make_client()
    _, samples = parse(await (await client.get("/metrics")).text())
    sx = {"source": "sxpl-z3950", "library": "SXPL"}
    assert value(samples, "tongjian_source_records", **sx) == 1
    assert value(samples, "tongjian_source_quarantined", **sx) == 1
    assert value(samples, "tongjian_harvest_runs_total", **sx) == 2
    assert value(samples, "tongjian_harvest_failures_total", **sx) == 1
    assert value(samples, "tongjian_harvest_records_total", outcome="new", **sx) == 1
    assert value(samples, "tongjian_source_up", **sx) == 0  # the last run failed
    assert value(samples, "tongjian_harvest_last_success_timestamp_seconds", **sx) > 1e9
    assert value(samples, "tongjian_harvest_last_duration_seconds", **sx) >= 0
    xy = {"source": "xylib-z3950", "library": "XYLIB"}
    assert value(samples, "tongjian_harvest_runs_total", **xy) == 0
    assert ("tongjian_source_up", frozenset(xy.items())) not in samples  # never ran
    run = world.store.start_harvest("sxpl-z3950")
    world.store.finish_harvest(run, {"updated": 4}, None)
    _, samples = parse(await (await client.get("/metrics")).text())
    assert value(samples, "tongjian_source_up", **sx) == 1
    assert value(samples, "tongjian_harvest_records_total", outcome="updated", **sx) == 4


async def test_scheduler_state_is_exported(make_client: MakeClient, world: World) -> None:
    async def reindex(stats: list) -> None:
        return None

    scheduler = Scheduler(world.config, lambda s, st: None, reindex)  # type: ignore[arg-type]
    scheduler.pause("sxpl-z3950")
    client = await make_client(scheduler=scheduler)
    _, samples = parse(await (await client.get("/metrics")).text())
    assert value(samples, "tongjian_harvest_paused", source="sxpl-z3950") == 1


async def test_metrics_are_not_public(make_client: MakeClient) -> None:
    client = await make_client()
    assert (await client.get("/metrics")).status == 200  # loopback: the local Prometheus
    proxied = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status == 403  # came through a proxy: not really local
    for token in (METRICS_TOKEN, TOKEN):
        resp = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9",
                                                     "Authorization": f"Bearer {token}"})
        assert resp.status == 200
    resp = await client.get("/metrics", headers={"Authorization": "Bearer wrong-token"})
    assert resp.status == 403


def test_label_values_and_help_are_escaped() -> None:
    out = Exposition()
    out.metric("x_total", "counter", "help with \\ and\nnewline",
               [({"name": 'a"b\\c\nd'}, 1)])
    text = out.text()
    assert '# HELP x_total help with \\\\ and\\nnewline' in text
    assert 'x_total{name="a\\"b\\\\c\\nd"} 1' in text
    _, samples = parse(text)
    assert len(samples) == 1


def test_histogram_buckets() -> None:
    h = Histogram((0.1, 1.0))
    for seconds in (0.05, 0.1, 0.5, 3.0):
        h.observe(seconds)
    assert h.counts == [2, 1] and h.count == 4 and h.sum == pytest.approx(3.65)
