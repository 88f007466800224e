"""Tongjian (统检): the top — the `tongjian` command (`cli` parses, `commands` acts), the
demo consortium, the probe and `source test` for connector admins, the Zebra server
manager used by the demo and the tests, the seeded catalogue generator, and log setup.
May import every other package (the demo alone starts `peers`); nothing imports it.
"""
