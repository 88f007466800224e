"""Index: makes merged records searchable.

`backend` defines the one interface (documents in, `SearchResult` out); `tantivy_backend`
is the embedded default.  `text` holds the Chinese analysis shared by every backend
(jieba segmentation, traditional→simplified folding).  `documents` turns merged clusters
into index documents.  May import `core.model`; never imports `portal` or `connectors`.
"""
