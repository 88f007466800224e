"""Portal: the public web interface and its JSON twins, plus the librarians' and admins' pages.

`app` wires routes, error handling and security headers; `query` is the single path from
request parameters to a search response (HTML and JSON both use it, so they cannot
disagree); `records` reads merged entries and harvest status from the store; `views` and
`labels` prepare what templates show.  Around that: `live` (broadcast search of live
sources, streamed to the page), `availability` (item status checked at the source),
`ill` (the interlibrary-loan holdings matrix), `admin*` and `auth` (login, sessions, CSRF;
sources, quarantine, data quality, merge corrections) and `metrics` (Prometheus).

May import `core.config`, `harvest`, `index` and, for the live features, `connectors`
(through `connectors.broadcast` and `connectors.availability`).  Nothing but the CLI
imports `portal`.
"""
