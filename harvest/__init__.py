"""Harvest: bytes from member systems → one record model → the record store.

`iso2709`/`marc8`/`marc` read MARC in any encoding, `readers` turns streams into records or
quarantine reasons, `crosswalk/` maps MARC21 and CNMARC to `model.Record`, `merge` groups the
same book across libraries, `store` keeps it all in SQLite, `pipeline` ties them together.
May import `connectors.base`, `index` (to rebuild it) and `core.config`; never `portal`.
"""
