"""Connectors: one file per protocol or vendor, all behind the small interfaces in `base`.

A connector only talks to a member system and hands back raw records (bytes plus what
is known about them); it never parses MARC or touches the store.  `registry` is the one
place connectors are built (from a config Source, with its credentials and options), for
every caller: the harvest, `broadcast` (live search), `availability` (item status), the
probe and ``source test``.  `broadcast` and `availability` drive connectors at query
time; the normalization they need is passed in by the caller.  Modules here may import
`connectors.base` and `tongjian.config` (to build themselves from a configured source);
`availability` also reads `harvest.model` holdings and maps them through `harvest.status`.
Nothing here imports `index` or `portal`.
"""
