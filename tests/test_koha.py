"""Koha REST connector and crosswalk against the Koha API simulator (peers.koha).

Each test starts its own simulator on a free loopback port (a few milliseconds) over the
first records of the committed SMLIB demo file, so tests that change data cannot disturb
each other.  Expected values come from the simulator's own tables (items, biblio ids), not
from numbers copied from an earlier run.
"""

from __future__ import annotations

import base64
import json
import math
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from connectors.base import (
    Checkpoint,
    ConnectorError,
    Diagnostic,
    LiveItem,
    RawRecord,
    Unreachable,
)
from connectors.koha import KohaConnector, live_item, status_summary
from core.config import Auth, Source
from core.status import (
    AVAILABLE,
    LIBRARY_USE_ONLY,
    ON_LOAN,
    UNAVAILABLE,
    Status,
    common_status,
)
from harvest.crosswalk import from_raw
from harvest.marc import RecordError
from peers.koha import KohaSimulator, demo_records

CLIENT_ID, SECRET = "tongjian-harvester", "s3cret-K3y-Never-Shown"
USER, PASSWORD = "harvest", "pa55-Never-Shown"
ID_ENV, SECRET_ENV = "TJTEST_KOHA_CLIENT_ID", "TJTEST_KOHA_SECRET"
USER_ENV, PASSWORD_ENV = "TJTEST_KOHA_USER", "TJTEST_KOHA_PASSWORD"
FIRST_ID = 500  # biblio ids unlike positions, so the two cannot be confused
COUNT = 30
BATCH = 7


@pytest.fixture(scope="module")
def records() -> list[bytes]:
    return demo_records(COUNT)


@pytest.fixture
def make_sim(records: list[bytes]) -> Iterator[Callable[..., KohaSimulator]]:
    started: list[KohaSimulator] = []

    def make(**kwargs: object) -> KohaSimulator:
        kwargs.setdefault("clients", {CLIENT_ID: SECRET})
        kwargs.setdefault("users", {USER: PASSWORD})
        sim = KohaSimulator(records, first_biblio_id=FIRST_ID,
                            libraries={"SMLIB": "神木市图书馆"}, **kwargs).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def oauth_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ID_ENV, CLIENT_ID)
    monkeypatch.setenv(SECRET_ENV, SECRET)


def source(sim: KohaSimulator, auth: Auth | None = None, query: str = "") -> Source:
    return Source(name="smlib-koha", library="SMLIB", protocol="koha", address=sim.base_url,
                  batch_size=BATCH, query=query,
                  auth=auth or Auth(client_id_env=ID_ENV, client_secret_env=SECRET_ENV))


def connector(sim: KohaSimulator, batch_size: int = BATCH, **kwargs: Any) -> KohaConnector:
    return KohaConnector("smlib-koha", sim.base_url, client_id=CLIENT_ID, client_secret=SECRET,
                         batch_size=batch_size, **kwargs)


def split(stream: list[RawRecord | Checkpoint]) -> tuple[list[RawRecord], list[Checkpoint]]:
    return ([x for x in stream if isinstance(x, RawRecord)],
            [x for x in stream if isinstance(x, Checkpoint)])


def until_checkpoint(stream: Iterator[RawRecord | Checkpoint], n: int = 1
                     ) -> tuple[list[RawRecord], Checkpoint]:
    got: list[RawRecord] = []
    seen = 0
    for item in stream:
        if isinstance(item, Checkpoint):
            seen += 1
            if seen == n:
                return got, item
        else:
            got.append(item)
    raise AssertionError("stream ended before the checkpoint")


def list_requests(sim: KohaSimulator, path: str) -> list[str]:
    return [p for m, p, s in sim.requests if p.split("?")[0] == f"/api/v1{path}"]


# ----------------------------------------------------------------------------- auth


def test_oauth_harvest_delivers_every_biblio_once_with_a_checkpoint_per_page(
        make_sim: Callable[..., KohaSimulator], oauth_env: None) -> None:
    sim = make_sim()
    conn = KohaConnector.from_source(source(sim))
    recs, cps = split(list(conn.harvest()))
    ids = [int(r.record_id) for r in recs]
    assert sorted(ids) == sim.biblio_ids and len(set(ids)) == COUNT
    assert [r.position for r in recs] == list(range(1, COUNT + 1))
    assert all(r.syntax == "koha" and r.datestamp and not r.deleted for r in recs)
    pages = math.ceil(COUNT / BATCH)
    assert len(cps) == pages + 1 and cps[-1].final and not any(c.final for c in cps[:-1])
    assert [c.state["page"] for c in cps[:-1]] == list(range(1, pages + 1))
    assert cps[-1].state["since"].endswith("Z")
    envelope = json.loads(recs[0].data)
    assert envelope["biblio_id"] == FIRST_ID and envelope["marcxml"].lstrip().startswith("<")
    assert len(envelope["items"]) == len(sim.items_of(FIRST_ID))
    assert sim.token_requests() == 1  # one token, reused for every request
    assert len(list_requests(sim, "/items")) == pages  # items in bulk, not per record


def test_missing_environment_variable_is_named(make_sim: Callable[..., KohaSimulator],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    sim = make_sim()
    monkeypatch.setenv(ID_ENV, CLIENT_ID)
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with pytest.raises(ConnectorError, match=SECRET_ENV):
        KohaConnector.from_source(source(sim))
    with pytest.raises(ConnectorError, match="client_secret_env.*user_env"):
        KohaConnector.from_source(source(sim, Auth()))


def test_wrong_secret_is_refused_with_the_variables_to_check(
        make_sim: Callable[..., KohaSimulator], monkeypatch: pytest.MonkeyPatch) -> None:
    sim = make_sim()
    monkeypatch.setenv(ID_ENV, CLIENT_ID)
    monkeypatch.setenv(SECRET_ENV, "wrong-secret-value")
    conn = KohaConnector.from_source(source(sim))
    with pytest.raises(ConnectorError) as info:
        list(conn.harvest())
    assert type(info.value) is ConnectorError  # not "server down", not a diagnostic
    message = str(info.value)
    assert "refused" in message and SECRET_ENV in message and ID_ENV in message
    assert "wrong-secret-value" not in message and "wrong-secret-value" not in repr(conn)


def test_expired_and_revoked_tokens_are_renewed(make_sim: Callable[..., KohaSimulator]
                                                ) -> None:
    sim = make_sim(token_seconds=1)
    stream = connector(sim).harvest()
    first, _ = until_checkpoint(stream)
    time.sleep(1.1)  # the token is past its lifetime: renewed before the next request
    rest, _ = split(list(stream))
    assert len(first) + len(rest) == COUNT
    assert sim.token_requests() == 2

    sim = make_sim(token_seconds=3600)
    stream = connector(sim).harvest()
    first, _ = until_checkpoint(stream)
    sim.revoke_tokens()  # Koha forgot the token: 401, new token, same request again
    rest, _ = split(list(stream))
    assert len(first) + len(rest) == COUNT
    assert sim.token_requests() == 2
    assert any(s == 401 for _, _, s in sim.requests)


def test_basic_auth(make_sim: Callable[..., KohaSimulator],
                    monkeypatch: pytest.MonkeyPatch) -> None:
    sim = make_sim()
    monkeypatch.setenv(USER_ENV, USER)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    basic = Auth(user_env=USER_ENV, password_env=PASSWORD_ENV)
    recs, _ = split(list(KohaConnector.from_source(source(sim, basic)).harvest()))
    assert len(recs) == COUNT and sim.token_requests() == 0

    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    with pytest.raises(ConnectorError, match=f"refused.*{PASSWORD_ENV}"):
        list(KohaConnector.from_source(source(sim, basic)).harvest())

    off = make_sim(basic_auth=False)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with pytest.raises(ConnectorError, match="RESTBasicAuth"):
        list(KohaConnector.from_source(source(off, basic)).harvest())


def test_secrets_never_appear_in_repr(make_sim: Callable[..., KohaSimulator]) -> None:
    sim = make_sim()
    conn = connector(sim)
    list(conn.harvest())
    tokens = list(sim._tokens)
    assert len(tokens) == 1  # the connector holds a live token right now …
    text = repr(conn)
    assert SECRET not in text and tokens[0] not in text  # … and repr shows neither
    assert text == f"KohaConnector(name='smlib-koha', base_url={sim.base_url!r}, auth='oauth2')"
    basic = KohaConnector("b", sim.base_url, user=USER, password=PASSWORD)
    assert PASSWORD not in repr(basic) and base64.b64encode(PASSWORD.encode()).decode() \
        not in repr(basic)


# -------------------------------------------------------------------------- paging


@pytest.mark.parametrize("headers", [True, False])
def test_paging_uses_headers_when_koha_sends_them(make_sim: Callable[..., KohaSimulator],
                                                  headers: bool) -> None:
    sim = make_sim(biblios_paging_headers=headers)
    recs, _ = split(list(connector(sim, batch_size=10).harvest()))  # 30 = 3 full pages
    assert sorted(int(r.record_id) for r in recs) == sim.biblio_ids
    # X-Total-Count says page 3 is the last; without it only an empty page 4 can say so
    assert len(list_requests(sim, "/biblios")) == (3 if headers else 4)


def test_resume_from_a_checkpoint_delivers_the_rest_exactly_once(
        make_sim: Callable[..., KohaSimulator]) -> None:
    sim = make_sim()
    first, cp = until_checkpoint(connector(sim).harvest(), 2)
    assert not cp.final and len(first) == 2 * BATCH
    state = json.loads(json.dumps(cp.state))  # what the store keeps
    sim.delete_biblio(FIRST_ID + 1)  # a deletion before the cursor must not shift it
    rest, cps = split(list(connector(sim).harvest(state=state)))
    ids = [int(r.record_id) for r in first + rest]
    assert len(ids) == len(set(ids)) and set(ids) == set(sim.biblio_ids) | {FIRST_ID + 1}
    assert rest[0].position == first[-1].position + 1
    assert cps[-1].final and cps[-1].state["since"] <= cp.state["started"]


# --------------------------------------------------------------------- incremental


def test_incremental_harvest_sends_changes_and_deletion_notices(
        make_sim: Callable[..., KohaSimulator]) -> None:
    sim = make_sim()
    conn = connector(sim)
    _, cps = split(list(conn.harvest()))
    modified, deleted, circulated = FIRST_ID + 3, FIRST_ID + 5, FIRST_ID + 10
    sim.set_title(modified, "新标题")
    sim.delete_biblio(deleted)
    item = next(i for i in sim.items_of(circulated) if not i["checked_out_date"])
    sim.checkout(item["item_id"], date(2026, 12, 1))

    assert conn.incremental
    recs, cps2 = split(list(conn.harvest(state=cps[-1].state)))
    notices = [r for r in recs if r.deleted]
    assert [(n.record_id, n.data) for n in notices] == [(str(deleted), b"")]
    changed = {int(r.record_id): r for r in recs if not r.deleted}
    assert set(changed) == {modified, circulated}
    src = source(sim)
    assert from_raw(changed[modified], src).title == "新标题"
    statuses = [h.status for h in from_raw(changed[circulated], src).holdings]
    assert "checked out, due 2026-12-01" in statuses
    assert cps2[-1].final


def test_without_deleted_biblios_route_every_run_is_full(
        make_sim: Callable[..., KohaSimulator]) -> None:
    sim = make_sim(deleted_endpoint=False)
    conn = connector(sim)
    _, cps = split(list(conn.harvest()))
    assert conn.incremental is False
    recs, _ = split(list(conn.harvest(state=cps[-1].state)))
    assert len(recs) == COUNT


# ------------------------------------------------------------------------- errors


def test_strict_query_validation_is_a_diagnostic(make_sim: Callable[..., KohaSimulator]
                                                 ) -> None:
    sim = make_sim()
    with pytest.raises(Diagnostic) as info:
        list(connector(sim, query={"no_such_field": 1}).harvest())
    assert info.value.code == 400 and "no_such_field" in info.value.diag_message
    with pytest.raises(Diagnostic) as info:
        list(connector(sim, query={"title": {"$regex": "红"}}).harvest())
    assert "invalid_query" in info.value.addinfo and "$regex" in info.value.diag_message
    # a valid filter is ANDed into the listing
    recs, _ = split(list(connector(sim, query={"biblio_id": {"<": FIRST_ID + 4}}).harvest()))
    assert [int(r.record_id) for r in recs] == list(range(FIRST_ID, FIRST_ID + 4))


def test_bad_query_in_config_is_refused_early(make_sim: Callable[..., KohaSimulator],
                                              oauth_env: None) -> None:
    sim = make_sim()
    with pytest.raises(ConnectorError, match="q filter"):
        KohaConnector.from_source(source(sim, query="@attr 1=4 x"))


def test_server_stopping_mid_harvest_is_unreachable(make_sim: Callable[..., KohaSimulator]
                                                    ) -> None:
    sim = make_sim()
    stream = connector(sim).harvest()
    until_checkpoint(stream)
    sim.stop()
    with pytest.raises(Unreachable):
        next(stream)

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = KohaConnector("dead", f"http://127.0.0.1:{port}", user=USER, password=PASSWORD)
    with pytest.raises(Unreachable, match="refused"):
        list(dead.harvest())


def test_a_kept_alive_connection_the_server_closed_is_reopened(
        make_sim: Callable[..., KohaSimulator]) -> None:
    sim = make_sim(keepalive_timeout=0.2)
    stream = connector(sim).harvest()
    first, _ = until_checkpoint(stream)
    time.sleep(0.5)  # the server drops the idle connection, as Apache does after 5 s
    rest, cps = split(list(stream))
    assert len(first) + len(rest) == COUNT and cps[-1].final


def test_a_record_koha_cannot_serialise_is_reported_and_skipped(
        make_sim: Callable[..., KohaSimulator]) -> None:
    sim = make_sim()
    sim.break_record(FIRST_ID + 2)  # MARCXML fails, MARC-in-JSON works
    sim.break_record(FIRST_ID + 4, ("application/marcxml+xml", "application/marc-in-json"))
    errors: list[tuple[int, str]] = []
    recs, cps = split(list(connector(sim).harvest(on_error=lambda p, r: errors.append((p, r)))))
    ids = [int(r.record_id) for r in recs]
    assert FIRST_ID + 4 not in ids and len(ids) == COUNT - 1 and cps[-1].final
    assert errors == [(5, errors[0][1])] and "HTTP 500" in errors[0][1]
    fallback = next(r for r in recs if int(r.record_id) == FIRST_ID + 2)
    assert "marc_in_json" in json.loads(fallback.data)
    assert from_raw(fallback, source(sim)).title


# ------------------------------------------------------------------ crosswalk, items


def test_crosswalk_builds_records_with_item_holdings(make_sim: Callable[..., KohaSimulator]
                                                     ) -> None:
    sim = make_sim()
    biblio = FIRST_ID + 7
    items = sim.items_of(biblio)
    assert len(items) >= 2
    sim.set_item(items[0]["item_id"], lost_status=2)
    sim.set_item(items[1]["item_id"], not_for_loan_status=1)
    free = next(i for i in sim.items_of(FIRST_ID + 8) if not i["checked_out_date"])
    sim.checkout(free["item_id"], date(2026, 12, 1))
    recs, _ = split(list(connector(sim).harvest()))
    src = source(sim)
    by_id = {int(r.record_id): from_raw(r, src) for r in recs}
    record = by_id[biblio]
    assert record.source_id == str(biblio) and record.title and record.format == "marc21"
    assert [h.barcode for h in record.holdings] == [i["external_id"] for i in items]
    assert [h.call_number for h in record.holdings] == [i["callnumber"] for i in items]
    assert record.holdings[0].status == "lost (2)"
    assert record.holdings[1].status == "not for loan (1)"
    assert all(h.library == "SMLIB" for h in record.holdings)
    due = [h for h in by_id[FIRST_ID + 8].holdings if h.barcode == free["external_id"]]
    assert due[0].status == "checked out, due 2026-12-01"
    for biblio_id, rec in by_id.items():  # one holding per item, none from MARC 952s
        assert len(rec.holdings) == len(sim.items_of(biblio_id))


def test_crosswalk_refuses_broken_envelopes(make_sim: Callable[..., KohaSimulator]) -> None:
    src = source(make_sim())

    def raw(data: bytes) -> RawRecord:
        return RawRecord("smlib-koha", 1, data, "koha", "9")

    with pytest.raises(RecordError, match="not valid JSON"):
        from_raw(raw(b"{not json"), src)
    with pytest.raises(RecordError, match="neither"):
        from_raw(raw(b'{"biblio_id": 9, "items": []}'), src)
    with pytest.raises(RecordError, match="biblio 9: not well-formed XML"):
        from_raw(raw(b'{"biblio_id": 9, "marcxml": "<record><leader>", "items": []}'), src)
    mij = {"leader": "00000nam a2200000 a 4500",
           "fields": [{"001": "x1"}, {"245": {"ind1": "0", "ind2": "0",
                                              "subfields": [{"a": "边城"}]}}]}
    rec = from_raw(raw(json.dumps({"biblio_id": 9, "marc_in_json": mij, "items": [
        {"item_id": 1, "external_id": "B1", "callnumber": "I246/S", "location": "GEN",
         "home_library_id": "SMLIB", "withdrawn": 1}]}).encode()), src)
    assert (rec.source_id, rec.title) == ("9", "边城")
    assert rec.holdings[0].status == "withdrawn (1)" and rec.holdings[0].barcode == "B1"


def test_items_status_for_live_availability(make_sim: Callable[..., KohaSimulator]) -> None:
    for circulate in (True, False):  # without `circulate`, checked_out_date holds the due
        sim = make_sim(circulate=circulate)
        biblio = FIRST_ID + 1
        item = next(i for i in sim.items_of(biblio) if not i["checked_out_date"])
        sim.checkout(item["item_id"], date(2026, 12, 1))
        conn = connector(sim)
        assert conn.status_by == "bib"
        conn.item_statuses(str(biblio))
        statuses = {s.barcode: s for s in conn.item_statuses(str(biblio)) or ()}
        assert set(statuses) == {i["external_id"] for i in sim.items_of(biblio)}
        out = statuses[item["external_id"]]
        assert (out.status, out.status.available) == (Status(ON_LOAN, "2026-12-01"), False)
        assert out.raw == "checked out, due 2026-12-01"
        refused = [p for _, p, s in sim.requests if s == 403]
        assert refused == ([] if circulate else [refused[0]])  # asked once, then not again
        assert conn.item_statuses("999999") is None  # no such biblio (404)
        assert conn.item_statuses("not-a-number") is None


def test_item_status_in_the_common_vocabulary() -> None:
    # Koha's summaries of real flag combinations, harvested and live alike
    assert common_status(status_summary({"checked_out_date": None})).code == AVAILABLE
    assert common_status(status_summary({"checked_out_date": "2026-01-02"})) == \
        Status(ON_LOAN, "2026-01-02")
    assert common_status(status_summary({"lost_status": 1})).code == UNAVAILABLE
    assert common_status(status_summary({"not_for_loan_status": 2})).code == LIBRARY_USE_ONLY
    # live: the checkout's exact due date wins over items.onloan
    item = {"external_id": "B1", "callnumber": "I246/S", "location": "GEN",
            "checked_out_date": "2026-01-01", "checkout": {"due_date": "2026-01-02T23:59"}}
    assert live_item(item) == LiveItem(Status(ON_LOAN, "2026-01-02"),
                                       "checked out, due 2026-01-02", "B1", "I246/S", "GEN")
    assert live_item({"effective_not_for_loan_status": -1}).status.code == UNAVAILABLE


def test_status_summary_keeps_raw_koha_codes() -> None:
    assert status_summary({"checked_out_date": None}) == "available"
    assert status_summary({"checked_out_date": "2026-12-01", "damaged_status": 1,
                           "effective_not_for_loan_status": -1}) \
        == "checked out, due 2026-12-01; damaged (1); not for loan (-1)"
    assert status_summary({"checked_out_date": "2026-01-01",
                           "checkout": {"due_date": "2026-01-02T23:59:00+08:00"}}) \
        == "checked out, due 2026-01-02"


# ------------------------------------------------------------------ the simulator


def test_simulator_answers_like_koha(make_sim: Callable[..., KohaSimulator]) -> None:
    sim = make_sim()
    basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    def get(path: str, **headers: str) -> tuple[int, dict[str, list[str]], object]:
        req = urllib.request.Request(sim.base_url + path,
                                     headers={"Authorization": basic, **headers})
        try:
            with urllib.request.urlopen(req) as resp:
                return resp.status, {k: resp.headers.get_all(k) for k in resp.headers}, \
                    json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, {}, json.loads(e.read())

    assert get("/api/v1/biblios?foo=1")[::2] == (
        400, [{"path": "/query/foo", "message": "Malformed query string"}])
    assert get(f"/api/v1/biblios/{FIRST_ID}", Accept="image/png")[0] == 406
    assert get(f"/api/v1/biblios/{FIRST_ID}/items", **{"x-koha-embed": "checkout"})[::2] == (
        400, "Embedding objects is not allowed on this endpoint.")
    status, headers, body = get("/api/v1/biblios?_page=2&_per_page=5")
    assert status == 200 and [b["biblio_id"] for b in body] == list(range(505, 510))
    assert headers["X-Total-Count"] == [str(COUNT)]
    assert {link.rsplit("rel=", 1)[1] for link in headers["Link"]} == {
        '"prev"', '"next"', '"first"', '"last"'}
    assert get("/api/v1/biblios", Authorization="Bearer nope")[::2] == (
        401, {"error": "Authentication failure."})
