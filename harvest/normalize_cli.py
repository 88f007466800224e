"""`tongjian normalize FILE…`: the crosswalk made visible, one JSON object per record.

Bad records go to stderr with file, position, byte offset and reason; the exit status is 0
when at least one record parsed, so a pipeline can go on with the good ones.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harvest.crosswalk import to_record
from harvest.readers import read


def normalize_files(files: list[Path], encoding: str = "auto", flavour: str = "auto",
                    library: str = "") -> int:
    good = bad = 0
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as e:
            print(f"{path}: cannot read: {e.strerror}", file=sys.stderr)
            bad += 1
            continue
        for parsed in read(data, encoding, flavour):
            if parsed.marc is None:
                where = f"record {parsed.position}"
                if parsed.offset is not None:
                    where += f" (byte {parsed.offset})"
                print(f"{path}: {where}: {parsed.error}", file=sys.stderr)
                bad += 1
                continue
            record = to_record(parsed.marc, source=path.name, library=library,
                               record_id=f"#{parsed.position}", flavour=flavour)
            print(json.dumps(record.to_dict(), ensure_ascii=False))
            good += 1
    print(f"{good} records normalized, {bad} bad", file=sys.stderr)
    return 0 if good else 1
