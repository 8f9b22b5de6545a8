"""``python -m mifusion.cli``: the same as the ``mifusion`` console script."""

import sys

from mifusion.cli import main

sys.exit(main())
