"""Entry point for ``python -m zoo``."""

import sys

from zoo.cli import main

sys.exit(main())
