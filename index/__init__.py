"""Index: makes merged records searchable.

`backend` defines the one interface (documents in, `SearchResult` out) and opens the
configured engine; `tantivy_backend` is the embedded default.  `text` holds the Chinese
analysis shared by every backend (jieba segmentation, pinyin, bigrams; the fold itself is
`core.fold`).  `documents` turns merged clusters into index documents; `marker` records
what an index was built with, so an upgrade rebuilds it instead of serving it wrongly.
Imports only `core`; never `connectors`, `harvest` or `portal` (import-linter checks it).
"""
