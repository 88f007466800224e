"""Export and cite: an entry (or a reader's marked list of up to 200) as RIS, BibTeX,
MARC (ISO 2709 and MARCXML), CSV and GB/T 7714-2015 citations; a QR code to carry a call
number to the shelf; the OpenSearch description and an Atom feed of a search.

One small module per format, each a pure function from `ExportItem`s to text or bytes
(`items.py` builds those from the store, once, for every format); `routes.py` is the only
module that knows about HTTP.  May import core, harvest, index and portal.core.
"""
