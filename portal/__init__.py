"""Portal: the public web interface — search page, record page and their JSON twins.

`app` wires routes, error handling and security headers; `query` is the single path from
request parameters to a search response (HTML and JSON both use it, so they cannot
disagree); `records` builds the record page and the source status; `labels` holds the
Chinese names shown for codes.  May import `tongjian.config`, `harvest.model`,
`harvest.store`, `harvest.clc` and `index` (backend interface and documents); nothing
outside the CLI imports `portal`, and the portal never talks to member servers itself.
"""
