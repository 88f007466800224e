"""The `tongjian` command: parses arguments and calls library functions, nothing more."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from core.config import ConfigError, load
from core.version import installed_version
from harvest.schema import StoreVersionError
from tongjian.logs import FORMATS, setup_logging

DEFAULT_CONFIG = "config.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tongjian", description="统检 — one search across "
                                     "every library in a province")
    parser.add_argument("--config", default=DEFAULT_CONFIG,
                        help="consortium configuration (default: ./config.yaml)")
    parser.add_argument("--version", action="version", version=f"tongjian {installed_version()}")
    parser.add_argument("--log-format", choices=FORMATS,
                        help="plain (default) or json: one JSON object per line "
                             "(also TONGJIAN_LOG_FORMAT)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="start the demo consortium (Zebra servers), harvest, "
                       "index and serve the portal")
    p.add_argument("--port", type=int, help="portal port (default: from config)")
    p.add_argument("--no-serve", action="store_true",
                   help="stop after harvesting and indexing (for checks and CI)")

    p = sub.add_parser("serve", help="serve the portal over the existing store and index")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, default=1,
                   help="portal processes on port … port+N-1, one store and index "
                        "(put them behind nginx: docs/scaling.md); default 1")
    p.add_argument("--no-schedule", action="store_true",
                   help="run no harvest schedules here (another process harvests)")

    p = sub.add_parser("harvest", help="harvest sources into the store, then re-index")
    p.add_argument("sources", nargs="*", help="source names (default: every harvest source)")
    p.add_argument("--no-index", action="store_true", help="do not update the index after")
    p.add_argument("--full", action="store_true",
                   help="harvest everything again instead of what changed since last time")
    p.add_argument("--confirm-deletions", action="store_true",
                   help="a full run that deletes every record the source no longer returns, "
                   "even past the source's max_delete_share (confirms held deletions)")

    p = sub.add_parser("import", help="load MARC export files of a configured source "
                       "(a library that sends dumps), in parallel, then merge and index")
    p.add_argument("source", help="source name in config.yaml the records belong to")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--processes", type=int, default=2, help="parsing processes (default 2)")
    p.add_argument("--no-full", action="store_true",
                   help="add and update only; keep records the files no longer hold")

    p = sub.add_parser("index", help="rebuild the index from the record store alone")
    p.add_argument("--rebuild", action="store_true", required=True)

    p = sub.add_parser("normalize", help="print each record of MARC files as canonical JSON")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--encoding", default="auto", choices=["auto", "utf-8", "marc-8", "gb18030"])
    p.add_argument("--format", default="auto", choices=["auto", "marc21", "cnmarc"])
    p.add_argument("--library", default="", help="library code to put on the records")

    p = sub.add_parser("source", help="tools for connector admins")
    source_sub = p.add_subparsers(dest="action", required=True)
    sp = source_sub.add_parser("probe", help="report what a member system offers and print "
                               "a config.yaml block")
    sp.add_argument("address", help="host:port/Database for Z39.50, a URL for SRU/OAI-PMH")
    sp.add_argument("--protocol", choices=["z3950", "sru", "oaipmh", "symphony", "koha"])
    sp.add_argument("--timeout", type=float, default=5.0)

    sp = source_sub.add_parser("test", help="fetch a few records of a configured source "
                               "through the real pipeline and show them raw and normalized")
    sp.add_argument("name")
    sp.add_argument("--count", type=int, default=5)

    p = sub.add_parser("quality", help="compute the data-quality report (审校) of every "
                       "library now, e.g. monthly from cron; prints the counts")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")

    p = sub.add_parser("admin", help="admin login tools")
    p.add_argument("action", choices=["hash-password"],
                   help="ask for a password and print the TONGJIAN_ADMIN_PASSWORD_HASH line")

    p = sub.add_parser("reviewer", help="the cataloguing centre's reviewer accounts")
    p.add_argument("action", choices=["add", "list"])
    p.add_argument("name", nargs="?", default="", help="account name (add)")
    p.add_argument("--role", choices=["centre", "city", "member"], default="member")
    p.add_argument("--library", default="", help="library code of the account")
    p.add_argument("--password-env", default="",
                   help="read the password from this environment variable (else asked)")

    p = sub.add_parser("backup", help="copy the record store consistently (while the portal "
                       "serves and harvests run), with the config and the secrets' names")
    p.add_argument("dest", type=Path, help="folder for the backup (made if missing)")

    p = sub.add_parser("restore", help="check a backup and put it in place of the store "
                       "(stop the portal first); the old store is kept beside it")
    p.add_argument("src", type=Path, help="a folder made by `tongjian backup`")

    p = sub.add_parser("zserver", help="serve the merged catalogue over Z39.50 (and SRU) "
                       "with Zebra, kept in step with the catalogue (offer.z3950)")
    p.add_argument("--flavour", choices=["marc21", "unimarc"], default="marc21",
                   help="MARC 21 with 852 holdings (default) or UNIMARC/CNMARC with 906")
    p.add_argument("--host", help="IPv4 address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default offer.z3950.port, 2100)")
    p.add_argument("--refresh", type=float, default=300.0,
                   help="seconds between checks for catalogue changes (default 300)")

    p = sub.add_parser("config", help="configuration tools")
    p.add_argument("action", choices=["check"])

    args = parser.parse_args(argv)
    try:
        setup_logging(args.log_format)
    except ValueError as e:
        print(f"configuration error: {e}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `tongjian normalize … | head` ends quietly
    try:
        if args.command == "normalize":
            from harvest.normalize_cli import normalize_files

            return normalize_files(args.files, args.encoding, args.format, args.library)
        if args.command == "admin":
            from portal.auth import main as hash_password_prompt

            hash_password_prompt()
            return 0
        if args.command == "source" and args.action == "probe":
            from tongjian.probe import probe

            report = probe(args.address, args.protocol, args.timeout)
            print(report.render())
            return 0 if report.ok else 1
        config = load(args.config)
        if args.command == "source" and args.action == "test":
            from tongjian.source_test import render, sample

            source = config.source(args.name)
            samples = sample(source, args.count)
            print(render(source, samples))
            return 0 if samples and all(s.record for s in samples) else 1
        if args.command == "reviewer":
            from tongjian import reviewers

            if args.action == "list":
                return reviewers.list_accounts(config)
            return reviewers.add(config, args.name, args.role, args.library, args.password_env)
        if args.command == "quality":
            from tongjian.commands import quality

            return quality(config, as_json=args.json)
        if args.command in ("backup", "restore"):
            from harvest.backup import BackupError, backup, restore

            try:
                done = (backup(config, args.dest) if args.command == "backup"
                        else restore(config, args.src))
            except BackupError as e:
                print(f"{args.command}: {e}", file=sys.stderr)
                return 1
            print(f"{args.command}: {done.path}: {done.records:,} records, schema "
                  f"{done.schema}, {done.size / 1e6:.1f} MB in {done.seconds:.1f} s")
            return 0
        if args.command == "config":
            print(f"{config.path}: OK — {len(config.libraries)} libraries, "
                  f"{len(config.sources)} sources")
            return 0
        from tongjian import commands

        if args.command == "demo":
            return commands.demo(config, port=args.port, serve_portal=not args.no_serve)
        if args.command == "serve":
            if args.workers > 1:
                return commands.serve_workers(config, args.host, args.port, args.workers,
                                              schedule=not args.no_schedule)
            return commands.serve(config, host=args.host, port=args.port,
                                  schedule=not args.no_schedule)
        if args.command == "harvest":
            return commands.harvest(config, args.sources, reindex=not args.no_index,
                                    full=args.full, confirm_deletions=args.confirm_deletions)
        if args.command == "import":
            from harvest.bulk import bulk_import

            missing = [str(f) for f in args.files if not f.is_file()]
            if missing:
                print(f"import: no such file: {', '.join(missing)}", file=sys.stderr)
                return 2
            stats = bulk_import(config, config.source(args.source).name, args.files,
                                processes=max(1, args.processes), full=not args.no_full)
            print(stats.report())
            return 0
        if args.command == "index":
            return commands.rebuild(config)
        if args.command == "zserver":
            from tongjian.zserver import zserver

            return zserver(config, args.flavour, args.host, args.port, args.refresh)
    except ConfigError as e:
        print(f"configuration error: {e}", file=sys.stderr)
        return 2
    except StoreVersionError as e:
        print(f"store: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
