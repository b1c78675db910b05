"""``python -m zarrconv``: the ``zarrconv`` command."""

import sys

from .cli import main

sys.exit(main())
