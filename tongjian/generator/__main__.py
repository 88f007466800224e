"""`python -m tongjian.generator --out DIR --seed N --editions N` (see consortium.main)."""

import sys

from tongjian.generator.consortium import main

sys.exit(main())
