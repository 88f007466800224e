"""The demo's month at the cataloguing centre (issue 16), after the first harvest.

The union catalogue's members have catalogued with their habits (`generator.habits`).
Here the centre runs its quality review, gets reviewer accounts, marks problem records
of the sloppy county and passes good ones; the county fixes two of its records in
Symphony and the centre edits one of its own; the union catalogue is harvested again,
which notices the fixes; the centre confirms one.  After `./run demo` the summary
(/admin/cataloguing), the review lists (/admin/review) and a fixed problem are there to
see, logged in with the accounts printed at start.
"""

from __future__ import annotations

import os
import secrets
import sys
from datetime import date
from typing import Any

from core.config import Config
from harvest import cataloguing_review as cr
from harvest import quality_report as qr
from harvest.store import RecordStore
from portal.auth import hash_password
from tongjian.commands import harvest_one, rebuild_from_store
from tongjian.generator.habits import CATALOGUERS, MEMBERS, Catalogued, fix

PASSWORD_ENV = "TONGJIAN_DEMO_REVIEWER_PASSWORD"  # noqa: S105 - a variable's name
#: The demo's reviewers: (account, role, library).
REVIEWERS = (("zhongxin", "centre", "SXPL"), ("xianyang", "city", "XYLIB"),
             ("qianxian", "member", "QXLIB"), ("yangling", "member", "YLLIB"))
SOURCE = "union-symphony"
MARKED = 6  # problem records the centre marks


def cataloguing_round(config: Config, store: RecordStore, sim: Any,
                      made: list[Catalogued]) -> None:
    source = config.source(SOURCE)
    password = os.environ.get(PASSWORD_ENV) or secrets.token_urlsafe(9)
    os.environ[PASSWORD_ENV] = password
    for name, role, library in REVIEWERS:
        if library in config.libraries:
            store.add_account(name, role, library, hash_password(password))
            store.audit("demo", "account.add", name, f"{role} {library}")
    print(f"demo: reviewer accounts {', '.join(r[0] for r in REVIEWERS)} — password "
          f"{password} (set {PASSWORD_ENV} to choose it); /admin/review, /admin/cataloguing",
          file=sys.stderr)
    qr.compute(store, config=config)
    by_key = dict(zip(sim.bib_keys(), made, strict=True))
    problems = {p.key: p for lib in config.libraries
                for _, p in qr.problems(store, lib, limit=100_000)}
    centre = "zhongxin"
    newest = sorted(by_key, key=lambda k: _month(store, f"{SOURCE}:{k}"), reverse=True)
    sloppy = [k for k in newest if by_key[k].member == "QIANXIAN"
              and f"{SOURCE}:{k}" in problems][:MARKED]
    for k in sloppy:
        key, found = f"{SOURCE}:{k}", problems[f"{SOURCE}:{k}"]
        cr.mark(store, centre, key, _month(store, key), "QXLIB", "problem", found.kind,
                f"{found.detail}；请按规则改正")
    good = [k for k, c in by_key.items() if c.member == "LIQUAN"][:3]
    for k in good:
        key = f"{SOURCE}:{k}"
        cr.mark(store, centre, key, _month(store, key), "LQLIB", "ok")
    store.commit()
    # the county fixes two of the marked records, the centre edits one of its own
    today = date.today()
    for k in sloppy[:2]:
        sim.replace_marc(k, fix(by_key[k].clean, MEMBERS["QIANXIAN"][0], today,
                                CATALOGUERS["QIANXIAN"][0]))
    own = next((k for k, c in by_key.items() if c.member == "PROV"), None)
    if own is not None:
        sim.replace_marc(own, fix(by_key[own].clean, MEMBERS["PROV"][0], today,
                                  CATALOGUERS["PROV"][0]))
    stats = harvest_one(source, store)  # incremental: sees the edits, notices the fixes
    print(f"demo: {SOURCE} harvested again: {stats.updated} updated", file=sys.stderr)
    changed = store.reviews(reviewer=centre, states=("changed",))
    if changed:
        cr.confirm(store, centre, changed[0][0], fixed=True)
    store.commit()
    qr.compute(store, config=config)
    rebuild_from_store(config, store)


def _month(store: RecordStore, key: str) -> str:
    record = store.get(key)
    return (record.created[:7] if record and record.created else date.today().isoformat()[:7])

