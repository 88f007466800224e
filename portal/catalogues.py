"""The portal's message catalogues: extract every marked text, merge it into each
language's .po, and check that nothing shown to a reader lacks a translation.

    python -m portal.catalogues update   # templates, Python, scripts, label tables → .po
    python -m portal.catalogues check    # exit 1 listing every text without a translation

After `update`, new texts are in `portal/locale/en/LC_MESSAGES/messages.po` with an empty
msgstr (a changed one is marked fuzzy, keeping the old translation as a hint): fill them
in, delete the fuzzy flags, run `check`.  There is no compile step to remember — the
portal compiles the .po in memory when it starts (`portal.i18n.translations`) — and
`tests/test_i18n.py` runs `check`, so a text marked but not translated fails the suite.

Where texts come from:
- templates: `{{ _("…") }}` (and `ngettext`), by Jinja's own Babel extractor;
- Python in portal/: `_("…")`, `N_("…")`, `ngettext(…)`;
- the scripts in portal/static: `T("…")`;
- label tables that are data (facet, field and sort titles, languages, material types,
  year ranges, the status vocabulary's labels, the CLC's main classes, the live-status
  reasons): translated where shown, listed here so a
  new entry in a table is a new text to translate.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_javascript, extract_python
from babel.messages.pofile import read_po, write_po
from jinja2.ext import babel_extract

from connectors.availability import REASONS
from core.entry import NO_ITEM_DATA, ONLINE_LOCATION
from core.status import LABELS
from harvest.clc import TOP_CLASSES
from harvest.quality_rules import KINDS
from portal.clc_tree import SUBCLASSES
from portal.i18n import DEFAULT, DOMAIN, LANGUAGES, po_path
from portal.labels import (
    FACET_TITLES,
    FIELD_TITLES,
    MATERIAL_TYPES,
    SORT_TITLES,
    YEAR_RANGE_TITLES,
)
from portal.labels import (
    LANGUAGES as LANGUAGE_NAMES,
)

PORTAL = Path(__file__).parent
ROOT = PORTAL.parent
PY_KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                 "lstrip_blocks": "true"}
HEADER = ("# The portal's English (docs/i18n.md): fill each empty msgstr, review and unflag\n"
          "# each fuzzy entry, then `python -m portal.catalogues check`.\n#")
Message = tuple[str | tuple[str, str], str, int]  # msgid (or singular, plural), file, line


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _collect(found: Iterable[tuple[Any, ...]], path: Path) -> Iterator[Message]:
    for lineno, _func, message, *_rest in found:
        # a call with keyword arguments comes as (msgid, None), ngettext as (one, many, None)
        if isinstance(message, tuple):
            strings = [m for m in message if isinstance(m, str)]
            if len(strings) >= 2:
                yield (strings[0], strings[1]), _relative(path), lineno
            elif strings:
                yield strings[0], _relative(path), lineno
        elif isinstance(message, str) and message:
            yield message, _relative(path), lineno


def data_tables() -> Iterator[str]:
    """Labels kept as tables (data, not calls to `_`), translated where they are shown."""
    for table in (FACET_TITLES, FIELD_TITLES, SORT_TITLES, LANGUAGE_NAMES, MATERIAL_TYPES,
                  YEAR_RANGE_TITLES, LABELS, REASONS, TOP_CLASSES, SUBCLASSES):
        yield from table.values()
    yield NO_ITEM_DATA
    yield ONLINE_LOCATION
    for kind in KINDS:  # the quality report's problem kinds, on the admin quality pages
        yield kind.label
        yield kind.explain


def messages() -> Iterator[Message]:
    for template in sorted((PORTAL / "templates").glob("*.html")):
        with template.open("rb") as f:
            yield from _collect(babel_extract(f, ("_", "gettext", "ngettext"), [],
                                              JINJA_OPTIONS), template)
    for module in sorted(PORTAL.rglob("*.py")):
        with module.open("rb") as f:
            yield from _collect(extract_python(f, PY_KEYWORDS, [], {}), module)
    for script in sorted((PORTAL / "static").glob("*.js")):
        with script.open("rb") as f:
            yield from _collect(extract_javascript(f, {"T": None}, [], {}), script)
    for text in data_tables():
        yield text, "portal/labels.py", 0


def template_catalog() -> Catalog:
    """Every text the portal shows, as a gettext template (.pot) in memory."""
    catalog = Catalog(domain=DOMAIN, project="tongjian", charset="utf-8", fuzzy=False)
    for message, path, line in messages():
        catalog.add(message, None, [(path, line)] if line else [])
    return catalog


def read(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, domain=DOMAIN, project="tongjian", fuzzy=False)
    with path.open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def update() -> dict[str, int]:
    """Merge the texts into every language's .po; how many each has left to translate."""
    template = template_catalog()
    left = {}
    for lang in LANGUAGES:
        if lang == DEFAULT:
            continue
        catalog = read(lang)
        template.creation_date = catalog.creation_date  # no date churn in the .po's diff
        catalog.update(template, no_fuzzy_matching=False)
        catalog.header_comment = HEADER
        path = po_path(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            # sorted, without file:line references: two branches adding texts touch
            # different lines, and moving a template line changes nothing here
            write_po(f, catalog, width=100, ignore_obsolete=True, include_previous=True,
                     no_location=True, sort_output=True)
        left[lang] = len(missing(lang, template))
    return left


def missing(lang: str, template: Catalog | None = None) -> list[str]:
    """Texts shown to readers with no (or only a fuzzy) translation in `lang`."""
    template = template or template_catalog()
    catalog = read(lang)
    out = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id)
        strings = (found.string if found is not None else None) or ""
        done = (all(strings) if isinstance(strings, tuple) else bool(strings))
        if found is None or found.fuzzy or not done:
            key = message.id if isinstance(message.id, str) else message.id[0]
            out.append(key)
    return out


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        for lang, left in update().items():
            print(f"{po_path(lang).relative_to(ROOT)}: {left} texts to translate")
        return 0
    if command == "check":
        status = 0
        for lang in LANGUAGES:
            if lang == DEFAULT:
                continue
            gaps = missing(lang)
            for text in gaps:
                print(f"{lang}: not translated: {text!r}")
            print(f"{lang}: {len(gaps)} texts without a translation")
            status |= bool(gaps)
        return status
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
