"""``python -m jconv``: the ``jconv`` command (see `jconv.cli`)."""

import sys

from .cli import main

sys.exit(main())
