"""``python -m ortsession``: the same command line as the ``ortsession`` script."""

from __future__ import annotations

import sys

from ortsession.cli import main

if __name__ == "__main__":
    sys.exit(main())
