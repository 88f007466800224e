"""Harvest: bytes from member systems → one record model → the record store.

`iso2709`/`marc8`/`marc` read MARC in any encoding, `readers` turns streams into records or
quarantine reasons, `crosswalk/` maps MARC 21, CNMARC, Dublin Core and vendor envelopes to
`core.model.Record`, `matching/` decides which records are one book, `merge` applies it to
the store, `store` keeps it all in SQLite (`schema` versions and migrates it, `backup`
copies and restores it), `pipeline` and `bulk` tie them together, `scheduler` runs
harvests on their schedules, `quality*` is the monthly data-quality report.
May import `connectors`, `index` and `core`; never `portal` or `tongjian` (import-linter).
"""
