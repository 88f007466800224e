"""Seeded generator of a realistic consortium catalogue (one MARC file per library).

    from tongjian.generator import DEMO_LIBRARIES, write_consortium
    write_consortium("out/", seed=1, libraries=DEMO_LIBRARIES, editions=100_000, processes=2)

See `consortium` for the model, `cnmarc` / `marc21` for the record shapes, `vocab` for
the vocabulary tables, and `python -m tongjian.generator --help` for the command line.
"""

from tongjian.generator.consortium import (
    DEMO_EDITIONS,
    DEMO_EXTRA_LIBRARIES,
    DEMO_LIBRARIES,
    DEMO_SEED,
    Edition,
    LibrarySpec,
    Person,
    Style,
    generate_consortium,
    isbn10_check,
    isbn13_check,
    iter_editions,
    iter_library_records,
    write_consortium,
    write_demo_data,
    write_library,
)

__all__ = [
    "DEMO_EXTRA_LIBRARIES",
    "DEMO_EDITIONS",
    "DEMO_LIBRARIES",
    "DEMO_SEED",
    "Edition",
    "LibrarySpec",
    "Person",
    "Style",
    "generate_consortium",
    "isbn10_check",
    "isbn13_check",
    "iter_editions",
    "iter_library_records",
    "write_consortium",
    "write_demo_data",
    "write_library",
]
