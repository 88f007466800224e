"""Connectors: one file per protocol or vendor, all behind the small interfaces in `base`.

A connector only talks to a member system and hands back raw records (bytes plus what
is known about them) and, where the system can tell, its copies' live status; it never
parses MARC or touches the store.  What lives where:

* `base` — the interfaces (harvest, `StatusConnector` for live item status), `LiveItem`,
  and the typed errors;
* `registry` — the one place connectors are built from a config Source (credentials,
  harvest query, timeout), for every caller: harvest, live search, item status, the probe
  and ``source test``; it also tells what a protocol's connector can do;
* `z3950` (+ `zoom`, the YAZ binding), `oaipmh`, `symphony`, `koha` — one system each,
  including how it is asked for item status and how its words map to `core.status`;
* `broadcast` (live search) and `availability` (item status: cache, threads, deadlines,
  assembly) drive connectors at query time; the normalization they need is passed in.

Modules here may import `connectors.base`, `core.config` (to build themselves from a
configured source) and `core.status` (the one status vocabulary); `availability` also
reads `core.model` holdings.  Nothing here imports `index` or `portal`.
"""
