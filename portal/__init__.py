"""Portal: the public web interface — search page, record page and their JSON twins.

`app` wires routes, error handling and security headers; `query` is the single path from
request parameters to a search response (HTML and JSON both use it, so they cannot
disagree); `records` reads merged entries and harvest status from the store (record page,
`/api/records`, the status line, `/api/sources`); `views` adds links and labels for the
templates; `labels` holds the Chinese names shown for codes.

May import `tongjian.config`, `harvest` (model, store, clc) and `index` (backend interface
and documents).  Nothing but the CLI imports `portal`, and the portal never talks to member
servers itself: what it shows comes from the store and the index only.
"""
