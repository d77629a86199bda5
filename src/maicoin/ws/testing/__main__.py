"""``python -m maicoin.ws.testing``: serve the MAX simulator."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
