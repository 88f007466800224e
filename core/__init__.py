"""The leaf everything stands on: what every layer needs and nothing above it.

`config` (config.yaml as typed objects), `model` (the one record model), `status` (the
item-status vocabulary), `entry` (an entry's holdings, counted once for every view),
`fold` (the one fold of titles and names shared by matching, quality, the index and ILL),
`progress` (progress lines for long work) and `version` (the installed release).
Modules here import only the standard library, third-party packages and each other —
never connectors, harvest, index, portal or tongjian (import-linter checks it; see
pyproject.toml).
"""
