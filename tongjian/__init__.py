"""Tongjian (统检): the glue — configuration, the `tongjian` command, the demo consortium,
the Zebra server manager used by the demo and tests, and the seeded catalogue generator.
May import every other package; nothing imports it except `config` (shared vocabulary).
"""
