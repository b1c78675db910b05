"""``python -m zarrconv.cli``: the ``zarrconv`` command."""

import sys

from .main import main

sys.exit(main())
