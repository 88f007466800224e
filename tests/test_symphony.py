"""The Symphony Web Services connector and crosswalk against the ILSWS simulator.

Each test gets its own simulator (24 bibs: CNMARC from the demo's provincial library and
a few MARC 21 ones, items in five Symphony libraries) on a free loopback port.  Expected
values come from the simulator's own data (`sim.bib_keys()`, `sim.items(key)`), not from
numbers copied from an earlier run.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from connectors.base import Checkpoint, ConnectorError, Diagnostic, RawRecord, Unreachable
from connectors.symphony import (
    HARVEST_FIELDS,
    SymphonyConnector,
    clean_terms,
    location_status,
    pack_keys,
    unpack_keys,
)
from core.config import Auth, Source
from core.status import (
    AVAILABLE,
    IN_TRANSIT,
    LIBRARY_USE_ONLY,
    ON_LOAN,
    UNAVAILABLE,
    UNKNOWN,
    Status,
    common_status,
)
from harvest.crosswalk import from_raw
from harvest.marc import RecordError
from peers.symphony import SymphonySimulator

DEMO = Path(__file__).resolve().parents[1] / "tongjian" / "demo_data"
CLIENT_ID = "TONGJIAN-TEST"
LOGIN, PASSWORD = "TJ_HARVEST", "pw-Qx7!never-log-me"
MEMBERS = (("PROV", "SXPL"), ("LIQUAN", "LQLIB"), ("SANYUAN", "SYLIB"),
           ("YANGLING", "YLLIB"))  # QIANXIAN deliberately missing


def _split(path: Path, n: int) -> list[bytes]:
    return [c + b"\x1d" for c in path.read_bytes().split(b"\x1d") if c.strip()][:n]


RECORDS = _split(DEMO / "SXPL.cnmarc.utf8.iso", 20) + _split(DEMO / "SMLIB.marc21.utf8.mrc", 4)


@pytest.fixture
def sim():
    with SymphonySimulator(RECORDS, client_id=CLIENT_ID, users={LOGIN: PASSWORD},
                           seed=7) as s:
        yield s


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("SYMPHONY_USER", LOGIN)
    monkeypatch.setenv("SYMPHONY_PASSWORD", PASSWORD)


def make_source(sim: SymphonySimulator, **kw) -> Source:
    values = dict(name="prov", library="SXPL", protocol="symphony", address=sim.base_url,
                  batch_size=7, timeout=5.0, members=MEMBERS,
                  auth=Auth(user_env="SYMPHONY_USER", password_env="SYMPHONY_PASSWORD",
                            client_id=CLIENT_ID))
    values.update(kw)
    return Source(**values)


def connect(sim: SymphonySimulator, **kw) -> SymphonyConnector:
    conn = SymphonyConnector.from_source(make_source(sim))
    for k, v in kw.items():
        setattr(conn, k, v)
    return conn


def records(stream) -> list[RawRecord]:
    return [x for x in stream if isinstance(x, RawRecord)]


def checkpoints(stream) -> list[Checkpoint]:
    return [x for x in stream if isinstance(x, Checkpoint)]


# -- session ------------------------------------------------------------------------------


def test_login_from_environment_and_vendor_headers(sim, env):
    conn = connect(sim)
    page = conn.search("红楼梦")
    assert page.keys and page.total == len(page.keys)
    assert sim.logins == 1
    login, search = sim.request_log[0], sim.request_log[1]
    assert (login["method"], login["path"], login["has_token"]) == (
        "POST", "/symws/user/staff/login", False)
    assert search["path"] == "/symws/catalog/bib/search" and search["has_token"]
    for req in (login, search):
        assert req["client_id"] == CLIENT_ID
        assert req["app_id"] == "Tongjian"
        assert req["accept"] == "application/json"
    assert PASSWORD not in repr(conn) and "pw-" not in repr(conn)
    conn.close()
    assert sim.request_log[-1]["path"] == "/symws/user/staff/logout"
    assert not sim.sessions


def test_wrong_password_is_a_credentials_error(sim, env, monkeypatch):
    monkeypatch.setenv("SYMPHONY_PASSWORD", "wrong")
    with pytest.raises(ConnectorError) as info:
        connect(sim).search("红楼梦")
    assert not isinstance(info.value, Diagnostic | Unreachable)
    message = str(info.value)
    assert "refused the staff login" in message
    assert "$SYMPHONY_USER" in message and "$SYMPHONY_PASSWORD" in message
    assert "wrong" not in message


def test_missing_environment_variable_is_named(sim, env, monkeypatch):
    monkeypatch.delenv("SYMPHONY_PASSWORD")
    with pytest.raises(ConnectorError, match="SYMPHONY_PASSWORD is not set"):
        connect(sim).search("红楼梦")
    assert sim.request_log == []  # nothing was sent without a password


def test_auth_without_variable_names_is_a_config_error(sim):
    source = make_source(sim, auth=Auth(client_id=CLIENT_ID))
    with pytest.raises(ConnectorError, match="auth.user_env and auth.password_env"):
        SymphonyConnector.from_source(source)


def test_wrong_client_id(sim, env):
    source = make_source(sim, auth=Auth(user_env="SYMPHONY_USER",
                                        password_env="SYMPHONY_PASSWORD", client_id="NOPE"))
    with pytest.raises(ConnectorError, match="refused the client id 'NOPE'"):
        SymphonyConnector.from_source(source).search("红楼梦")


def test_expired_session_is_renewed_mid_harvest(sim, env):
    conn = connect(sim)
    got: list[str] = []
    for x in conn.harvest():
        if isinstance(x, Checkpoint) and not x.final and sim.logins == 1:
            sim.expire_sessions()  # Symphony forgets the token between two pages
        elif isinstance(x, RawRecord):
            got.append(x.record_id)
    assert got == sim.bib_keys()
    assert sim.logins == 2


def test_short_session_lifetime_renews_transparently():
    with SymphonySimulator(RECORDS[:3], client_id=CLIENT_ID, users={LOGIN: PASSWORD},
                           session_seconds=1.0) as s:
        conn = SymphonyConnector("prov", s.base_url, client_id=CLIENT_ID, user_env="U",
                                 password_env="P", environ={"U": LOGIN, "P": PASSWORD})
        first = conn.bib(s.bib_keys()[0])
        time.sleep(1.2)
        second = conn.bib(s.bib_keys()[0])
        assert first["key"] == second["key"] == s.bib_keys()[0]
        assert s.logins == 2


def test_proactive_relogin_after_max_age(sim, env):
    conn = connect(sim, session_max_age=0.6)
    conn.search("红楼梦")
    time.sleep(0.8)
    conn.search("红楼梦")
    # The server session was still valid: the second login came from the age limit.
    assert sim.logins == 2
    assert [r["path"].rsplit("/", 1)[-1] for r in sim.request_log] == [
        "login", "search", "login", "search"]


# -- harvest ------------------------------------------------------------------------------


def test_full_harvest_pages_every_bib_once(sim, env):
    stream = list(connect(sim).harvest())
    recs, cps = records(stream), checkpoints(stream)
    keys = sim.bib_keys()
    assert [r.record_id for r in recs] == keys
    assert [r.position for r in recs] == list(range(1, len(keys) + 1))
    assert all(r.syntax == "symphony" and r.datestamp and not r.deleted for r in recs)
    # One checkpoint per page of 7 rows, the last one final.
    assert [c.state.get("row") for c in cps[:-1]] == [8, 15, 22]
    assert [c.final for c in cps] == [False, False, False, True]
    assert unpack_keys(cps[-1].state["keys"]) == set(keys)
    searches = [r for r in sim.request_log if r["path"].endswith("/bib/search")]
    assert [r["query"]["rw"] for r in searches] == ["1", "8", "15", "22"]
    assert all(r["query"]["ct"] == "7" and r["query"]["includeFields"] == HARVEST_FIELDS
               for r in searches)
    # MARC and items came in the page itself: no per-bib requests.
    assert not any("/bib/key/" in r["path"] for r in sim.request_log)
    data = json.loads(recs[0].data)
    assert data["fields"]["bib"]["fields"] and data["fields"]["callList"]


def test_full_harvest_skips_deleted_and_shadowed(sim, env):
    keys = sim.bib_keys()
    sim.delete_bib(keys[2])  # still counted in totalResults, comes back as null
    sim.delete_bib(keys[9], shadow=True)
    got = [r.record_id for r in records(connect(sim).harvest())]
    assert got == [k for k in keys if k not in (keys[2], keys[9])]


def test_resume_from_a_non_final_checkpoint(sim, env):
    stream = list(connect(sim).harvest())
    second = checkpoints(stream)[1]
    assert not second.final and second.state["row"] == 15
    before = [x.record_id for x in stream[: stream.index(second)] if isinstance(x, RawRecord)]
    resumed = list(connect(sim).harvest(dict(second.state)))
    after = [r.record_id for r in records(resumed)]
    assert after == sim.bib_keys()[14:]
    assert before + after == sim.bib_keys()
    assert resumed[-1].final
    assert unpack_keys(resumed[-1].state["keys"]) == set(sim.bib_keys())


def test_incremental_returns_changes_and_deletions(sim, env):
    final = list(connect(sim).harvest())[-1]
    assert final.final
    keys = sim.bib_keys()
    edited, gone, hidden, new_copy, circulated = keys[3], keys[5], keys[6], keys[10], keys[12]
    sim.modify_bib(edited, title="秦岭植物志（修订版）")
    sim.delete_bib(gone)
    sim.delete_bib(hidden, shadow=True)
    sim.add_item(new_copy, "LIQUAN")
    sim.set_item_location(sim.items(circulated)[0].barcode, "INTRANSIT")
    added = sim.add_bib(RECORDS[0])

    stream = list(connect(sim).harvest(final.state))
    recs = records(stream)
    assert sorted(r.record_id for r in recs if r.deleted) == sorted([gone, hidden])
    changed = [r for r in recs if not r.deleted]
    assert {r.record_id for r in changed} == {edited, new_copy, circulated, added}
    source = make_source(sim)
    by_key = {r.record_id: from_raw(r, source) for r in changed}
    assert by_key[edited].title == "秦岭植物志（修订版）"
    assert "LQLIB" in {h.library for h in by_key[new_copy].holdings}
    assert "INTRANSIT" in {h.status for h in by_key[circulated].holdings}
    done = stream[-1]
    assert done.final and unpack_keys(done.state["keys"]) == set(
        sim.bib_keys(include_shadowed=False))

    # The next run does not repeat the deletions nor anything unchanged.
    again = records(connect(sim).harvest(done.state))
    assert not any(r.deleted for r in again)
    assert {r.record_id for r in again} <= {edited, new_copy, circulated, added}


def test_incremental_run_resumes_after_its_last_checkpoint(sim, env):
    final = list(connect(sim).harvest())[-1]
    edited = sim.bib_keys()[::3]
    for key in edited:
        sim.modify_bib(key)
    conn = connect(sim, batch_size=3)
    first: list[str] = []
    stream = conn.harvest(final.state)
    for x in stream:
        if isinstance(x, Checkpoint):
            cut = x
            break
        first.append(x.record_id)
    assert not cut.final and len(first) == 3
    rest = records(connect(sim, batch_size=3).harvest(dict(cut.state)))
    assert first + [r.record_id for r in rest] == edited


def test_rows_shifting_mid_harvest_heal_in_the_next_run(sim, env):
    """Symphony keeps deleted bibs as nulls, but if its index is rebuilt mid-harvest the
    rows shift and a bib at a page boundary is skipped; the key set makes the next
    incremental run deliver it (it is live but was never delivered)."""
    keys = sim.bib_keys()
    got: list[str] = []
    final = None
    for x in connect(sim).harvest():
        if isinstance(x, Checkpoint) and x.state.get("row") == 8:
            sim.delete_bib(keys[0])
            sim.reindex()  # keys[7], now row 7, is never on a page
        elif isinstance(x, RawRecord):
            got.append(x.record_id)
        if isinstance(x, Checkpoint) and x.final:
            final = x
    assert keys[7] not in got
    healed = records(connect(sim).harvest(final.state))
    assert keys[7] in {r.record_id for r in healed if not r.deleted}
    assert keys[0] in {r.record_id for r in healed if r.deleted}


def test_stopped_server_mid_harvest_is_unreachable(sim, env):
    stream = connect(sim).harvest()
    for x in stream:
        if isinstance(x, Checkpoint):
            break
    sim.stop()
    with pytest.raises(Unreachable, match=r"127\.0\.0\.1"):
        next(stream)


def test_server_error_with_message_list_is_a_diagnostic(sim, env):
    conn = connect(sim)
    conn.login()
    sim.fail_next(5, code="hatErrorResponse.500", message="Symphony is busy")
    with pytest.raises(Diagnostic) as info:
        list(conn.harvest())
    assert info.value.code == "hatErrorResponse.500"
    assert info.value.diag_message == "Symphony is busy"
    assert "HTTP 500" in info.value.addinfo


def test_gateway_error_without_body_is_unreachable(sim, env):
    conn = connect(sim)
    conn.login()
    sim.fail_next(1, status=503, code="")
    with pytest.raises(Unreachable, match="503"):
        conn.search("红楼梦")


def test_damaged_bib_is_reported_and_skipped(sim, env):
    keys = sim.bib_keys()
    sim.break_bib(keys[9])
    errors: list[tuple[int, str]] = []
    stream = list(connect(sim).harvest(on_error=lambda p, r: errors.append((p, r))))
    assert [r.record_id for r in records(stream)] == [k for k in keys if k != keys[9]]
    assert len(errors) == 1
    assert errors[0][0] == 10 and keys[9] in errors[0][1] and "hatErrorResponse" in errors[0][1]
    # Not in the delivered key set, so the next run tries it again (and reports it again).
    assert keys[9] not in unpack_keys(stream[-1].state["keys"])
    errors.clear()
    again = records(connect(sim).harvest(stream[-1].state, on_error=lambda p, r:
                                         errors.append((p, r))))
    assert again == [] and len(errors) == 1 and keys[9] in errors[0][1]


def test_secrets_never_logged(sim, env, caplog):
    caplog.set_level(logging.DEBUG)
    conn = connect(sim)
    list(conn.harvest())
    sim.expire_sessions()
    conn.search("红楼梦")
    assert caplog.records  # the connector did log
    tokens = list(sim.sessions)
    assert tokens
    for secret in [PASSWORD, *tokens]:
        assert secret not in caplog.text


# -- lookups ------------------------------------------------------------------------------


def test_bib_lookup_and_not_found(sim, env):
    conn = connect(sim)
    key = sim.bib_keys()[0]
    bib = conn.bib(key)
    assert bib["key"] == key and bib["fields"]["bib"]["leader"]
    with pytest.raises(Diagnostic) as info:
        conn.bib("999999")
    assert info.value.code == "recordNotFound"


def test_search_finds_by_title_and_cleans_user_text(sim, env):
    conn = connect(sim)
    page = conn.search("红楼梦", index="title", count=50)
    expected = [k for k in sim.bib_keys() if any(
        s["data"] == "红楼梦" for f in sim.bibs[k].marc["fields"] if f["tag"] in ("200", "880")
        for s in f["subfields"] if s["code"] == "a")]
    assert expected and set(expected) <= set(page.keys)
    assert page.hits[0]["fields"]["title"]
    assert clean_terms('红楼梦, TITLE:"x" OR {CKEY}') == "红楼梦 TITLE x CKEY"
    with pytest.raises(ValueError):
        conn.search(" , : ")
    with pytest.raises(ValueError):
        conn.search("红楼梦", index="TITLE:x")


def test_item_status_by_barcode_and_item_key(sim, env):
    items = [i for k in sim.bib_keys() for i in sim.items(k)]
    out_item = next(i for i in items if i.current == "CHECKEDOUT")
    home_item = next(i for i in items if i.current == i.home and i.home == "CN-SOCSCI")
    reading_item = next(i for i in items if i.current == i.home == "LOCAL-DOC")
    conn = connect(sim)
    assert conn.status_by == "item"
    assert conn.item_statuses("XX404") is None
    (out,) = conn.item_statuses(out_item.barcode) or ()
    assert (out.raw, out.status) == ("CHECKEDOUT 已借出", Status(ON_LOAN, out_item.due))
    assert out.location == "已借出" and out.barcode == out_item.barcode
    (home,) = conn.item_statuses(home_item.key) or ()  # by item key
    assert home.barcode == home_item.barcode and home.status == Status(AVAILABLE)
    (reading,) = conn.item_statuses(reading_item.barcode) or ()  # at home in 阅览室
    assert reading.status == Status(LIBRARY_USE_ONLY)
    assert location_status("INTRANSIT", "STACKS") == Status(IN_TRANSIT)


# Symphony's usual special locations (site-configurable) and what they mean.
SPECIAL_LOCATIONS = {
    "CHECKEDOUT": ON_LOAN, "INTRANSIT": IN_TRANSIT, "HOLDS": UNAVAILABLE,
    "ON-HOLD": UNAVAILABLE, "MISSING": UNAVAILABLE, "LOST": UNAVAILABLE,
    "LOST-ASSUM": UNAVAILABLE, "LOST-CLAIM": UNAVAILABLE, "BARRED": UNAVAILABLE,
    "BURSARED": UNAVAILABLE, "DISCARD": UNAVAILABLE, "WITHDRAWN": UNAVAILABLE,
    "REPAIR": UNAVAILABLE, "BINDERY": UNAVAILABLE, "ON-ORDER": UNAVAILABLE,
    "ORD-CANCLD": UNAVAILABLE, "INPROCESS": UNAVAILABLE, "INTERNET": UNKNOWN,
    "UNKNOWN": UNKNOWN, "ON-SHELF": AVAILABLE, "AVAILABLE": AVAILABLE,
}


def test_location_status_in_the_common_vocabulary():
    # every special location is understood — harvested (the raw key) and live alike
    for key, code in SPECIAL_LOCATIONS.items():
        assert common_status(key).code == code, key
        assert location_status(key, "STACKS").code == code, key
    assert location_status("STACKS", "STACKS") == Status(AVAILABLE)  # at home: on the shelf
    assert location_status("LOCAL-DOC", "LOCAL-DOC", "地方文献阅览室") == \
        Status(LIBRARY_USE_ONLY)
    assert location_status("CHECKEDOUT", "STACKS", "已借出", "2026-12-01T23:59:00") == \
        Status(ON_LOAN, "2026-12-01")
    # a home shelf elsewhere is site-specific: unknown, unless its description says more
    assert location_status("CN-SOCSCI", "STACKS").code == UNKNOWN
    assert location_status("X-DEPOT", "STACKS", "在途").code == IN_TRANSIT


# -- crosswalk ----------------------------------------------------------------------------


def test_crosswalk_records_with_member_holdings(sim, env):
    source = make_source(sim)
    raws = records(connect(sim).harvest())
    recs = [from_raw(r, source) for r in raws]
    assert [r.source_id for r in recs] == sim.bib_keys()
    assert {r.format for r in recs} == {"cnmarc", "marc21"}
    assert all(r.title and r.library == "SXPL" for r in recs)
    members = dict(MEMBERS)
    unknown = 0
    for rec in recs:
        truth = {i.barcode: i for i in sim.items(rec.source_id)}
        assert {h.barcode for h in rec.holdings} == set(truth)
        calls = {c.key: c.number for c in sim.bibs[rec.source_id].calls}
        for h in rec.holdings:
            item = truth[h.barcode]
            assert h.call_number == calls[item.key.rsplit(":", 1)[0]]
            # on its home shelf → "ON-SHELF"; anywhere else the current location key
            assert h.status == ("ON-SHELF" if item.current == item.home else item.current)
            assert h.location and not h.location.isascii()  # the description, 中文
            if item.library in members:
                assert (h.library, h.note) == (members[item.library], "")
            else:
                unknown += 1
                assert (h.library, h.note) == ("SXPL", item.library)
    assert unknown, "the seeded data should hold items of an unmapped library"


def test_crosswalk_refuses_unusable_json(sim):
    source = make_source(sim)

    def raw(data: bytes) -> RawRecord:
        return RawRecord(source="prov", position=1, data=data, syntax="symphony",
                         record_id="1")

    with pytest.raises(RecordError, match="not valid JSON"):
        from_raw(raw(b"{not json"), source)
    with pytest.raises(RecordError, match="fields.bib missing"):
        from_raw(raw(b'{"resource":"/catalog/bib","key":"1","fields":{"title":"x"}}'), source)
    with pytest.raises(RecordError, match="not a \\{leader, fields\\} object"):
        from_raw(raw(b'{"key":"1","fields":{"bib":"=245 10$ax"}}'), source)


def test_key_sets_round_trip():
    numeric = {str(k) for k in range(100001, 160001) if k % 11}
    packed = pack_keys(numeric)
    assert unpack_keys(packed) == numeric
    assert len(packed) < 2000  # ~55k sequential keys fit in a small state
    mixed = {"00123", "a6066288", "42"}
    assert unpack_keys(pack_keys(mixed)) == mixed
    assert unpack_keys(pack_keys([])) == set()


def test_simulator_answers_in_the_vendor_shape(sim):
    def get(path: str, headers: dict[str, str]) -> tuple[int, dict]:
        req = urllib.request.Request(sim.base_url + path, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
                return resp.status, json.load(resp)
        except urllib.error.HTTPError as e:
            with e:
                return e.code, json.load(e)

    assert get("/catalog/bib/describe", {"x-sirs-clientID": CLIENT_ID}) == (
        401, {"messageList": [{"code": "sessionTimedOut",
                               "message": "The session has timed out."}]})
    status, body = get("/catalog/bib/describe", {})
    assert status == 401 and body["messageList"][0]["message"] == "Bad Client ID"
