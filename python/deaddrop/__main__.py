"""``python3 -m deaddrop``: the command-line client."""

import sys

from .cli import main

sys.exit(main())
