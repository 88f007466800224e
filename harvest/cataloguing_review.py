"""The review workflow (审校流程) following the consortium's hierarchy.

Who reviews whom comes from config.yaml: the centre (`cataloguing.centre`, the province
library by default) reviews every member's new records — or a fixed share of them
(`cataloguing.sample`, the same records every time the list is shown); a city library
reviews the counties of its own region (`region`, `level` of each library); a county
reviews its peer (`cataloguing.peers`, pairs reviewing each other, 县级馆互校).

A mark is "ok" or "problem" (with a rule code from `harvest.quality_rules` and a note);
a problem lands on the owning member's list.  The mark keeps a digest of the record's
description as reviewed; after each harvest `notice_changes` moves problems whose record
changed to "changed", and the reviewer confirms the fix ("fixed") or reopens it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from core.config import Config
from harvest.cataloguing_history import NOT_DESCRIPTION
from harvest.store import RecordStore

ROLES = ("centre", "city", "member")
ROLE_NAMES = {"centre": "编目中心", "city": "市级馆审校员", "member": "成员馆编目员",
              "admin": "管理员"}


def reviewed_members(config: Config, role: str, library: str) -> list[str]:
    """The members whose new records are on this reviewer's monthly list."""
    libraries = config.libraries
    if role in ("centre", "admin"):
        return list(libraries)
    if role == "city":
        city = libraries.get(library)
        if city is None:
            return []
        return [c for c, lib in libraries.items()
                if lib.level == "county" and lib.region == city.region]
    peers = [b for a, b in config.cataloguing.peers if a == library]
    peers += [a for a, b in config.cataloguing.peers if b == library]
    return list(dict.fromkeys(peers))


def sampled(key: str, share: float) -> bool:
    """The same records every time: a hash of the key, not a random draw."""
    if share >= 1:
        return True
    digest = hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "big") < share * 2**32


def review_list(store: RecordStore, config: Config, role: str, library: str,
                month: str) -> list[tuple[str, str, str, str]]:
    """(record key, member, title, cataloguer) of the month's list for this reviewer (the
    cataloguer by name where the source's records give one)."""
    members = reviewed_members(config, role, library)
    rows = store.new_record_keys(month, members)
    if role in ("centre", "admin"):
        rows = [r for r in rows if sampled(r[0], config.cataloguing.sample)]
    return rows


def description_digest(data: dict[str, Any]) -> str:
    """What a reviewer judged: the description and the source's own edit stamp (005,
    Symphony modifiedDate; a fix to a field the model does not keep, 215$a say, still
    moves it) — not its copies' circulation status."""
    kept = {k: v for k, v in data.items() if k not in NOT_DESCRIPTION}
    kept["modified"], kept["modify_agency"] = data.get("modified"), data.get("modify_agency")
    text = json.dumps(kept, ensure_ascii=False, sort_keys=True)
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def current_digest(store: RecordStore, key: str) -> str | None:
    record = store.get(key)
    return None if record is None else description_digest(record.to_dict())


def mark(store: RecordStore, account: str, key: str, month: str, member: str, verdict: str,
         rule: str = "", note: str = "") -> None:
    """A reviewer's mark, audited; ValueError for a record that is not in the store or a
    problem without a rule."""
    digest = current_digest(store, key)
    if digest is None:
        raise ValueError(f"记录 {key} 不在库中（可能已被删除），未标记")
    if verdict not in ("ok", "problem"):
        raise ValueError(f"未知的审校结论 {verdict!r}")
    if verdict == "problem" and not rule:
        raise ValueError("标记问题时须选择问题规则")
    store.save_review(key, month, account, member, verdict, rule if verdict == "problem" else "",
                      note[:2000], digest)
    store.audit(account, f"review.{verdict}", key, f"{month} {rule} {note[:200]}".strip())


def notice_changes(store: RecordStore) -> int:
    """After a harvest: open problems whose record's description changed wait for the
    reviewer's confirmation ("changed").  Returns how many moved."""
    moved = 0
    for row in store.reviews(states=("open",)):
        review_id, key, reviewed = row[0], row[1], row[8]
        now = current_digest(store, key)
        if now is not None and now != reviewed:
            store.set_review_state(review_id, "changed")
            store.audit("harvest", "review.changed", key, f"review {review_id}")
            moved += 1
    store.commit()
    return moved


def confirm(store: RecordStore, account: str, review_id: int, fixed: bool) -> None:
    """The reviewer looked at the changed record: fixed, or still a problem (open again,
    against the record as it is now)."""
    row = store.review(review_id)
    if row is None:
        raise ValueError(f"没有编号为 {review_id} 的审校记录")
    if fixed:
        store.set_review_state(review_id, "fixed")
    else:
        store.set_review_state(review_id, "open", current_digest(store, row[1]) or row[8])
    store.audit(account, "review.fixed" if fixed else "review.reopened", row[1],
                f"review {review_id}")
