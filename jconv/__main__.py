"""``python -m jconv``: the ``jconv`` command (see `jconv.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
