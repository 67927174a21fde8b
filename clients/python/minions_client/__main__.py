"""``python3 -m minions_client``: see :mod:`minions_client.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
