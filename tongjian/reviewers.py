"""`tongjian reviewer add|list`: the cataloguing centre's reviewer accounts.

Passwords are asked for twice at the terminal (or, for scripts and the demo, read from
the environment variable `--password-env` names) and stored only as scrypt hashes in the
store; config.yaml never holds one.  Adding or changing an account is audited.
"""

from __future__ import annotations

import getpass
import os
import re
import sys

from core.config import Config
from harvest.cataloguing_review import ROLE_NAMES, ROLES
from harvest.store import open_store
from portal.auth import hash_password

_NAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
MIN_PASSWORD = 10


def add(config: Config, name: str, role: str, library: str, password_env: str = "") -> int:
    problem = check(config, name, role, library)
    if problem:
        print(f"reviewer: {problem}", file=sys.stderr)
        return 2
    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            print(f"reviewer: environment variable {password_env} is empty", file=sys.stderr)
            return 2
    else:
        password = getpass.getpass(f"{name} 的口令（至少 {MIN_PASSWORD} 个字符）: ")
        if getpass.getpass("再输入一次: ") != password:
            print("reviewer: 两次输入不一致", file=sys.stderr)
            return 2
    if len(password) < MIN_PASSWORD:
        print(f"reviewer: 口令太短，至少 {MIN_PASSWORD} 个字符", file=sys.stderr)
        return 2
    with open_store(config) as store:
        store.add_account(name, role, library, hash_password(password))
        store.audit("cli", "account.add", name, f"{role} {library}")
    lib = config.libraries[library]
    print(f"reviewer {name}: {ROLE_NAMES[role]}, {lib.name} ({library})")
    return 0


def check(config: Config, name: str, role: str, library: str) -> str:
    """What is wrong with the account, phrased with the fix ('' when nothing)."""
    if not _NAME.match(name):
        return f"name {name!r}: 2–64 letters, digits, '_', '.', '@' or '-'"
    if role not in ROLES:
        return f"role {role!r} is not one of {', '.join(ROLES)}"
    lib = config.libraries.get(library)
    if lib is None:
        return f"library {library!r} is not defined in {config.path}"
    if role == "city" and lib.level != "city":
        return f"a city reviewer belongs to a city library; {library} is {lib.level}"
    if role == "centre" and library != config.cataloguing.centre:
        return (f"the centre is {config.cataloguing.centre or '(none)'} "
                "(cataloguing.centre in config.yaml)")
    return ""


def list_accounts(config: Config) -> int:
    with open_store(config) as store:
        for name, role, library in store.accounts():
            print(f"{name}\t{ROLE_NAMES.get(role, role)}\t{library}")
    return 0
