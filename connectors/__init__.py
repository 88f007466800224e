"""Connectors: one file per protocol or vendor, all behind the small interface in `base`.

A connector only talks to a member system and hands back raw records (bytes plus what
is known about them); it never parses MARC or touches the store.  `broadcast` (live
search) and `availability` (item status) drive connectors at query time; the
normalization they need is passed in by the caller.  Modules here may import
`connectors.base` and `tongjian.config` (to build themselves from a configured source);
`availability` also reads `harvest.model` holdings and maps them through `harvest.status`.
Nothing here imports `index` or `portal`.
"""
