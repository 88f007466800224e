"""Connectors: one file per protocol or vendor, all behind the small interface in `base`.

A connector only talks to a member system and hands back raw records (bytes plus what
is known about them); it never parses MARC or touches the store.  Product code may import
`connectors.base` and the connector modules; nothing here imports `harvest`, `index` or
`portal`.
"""
