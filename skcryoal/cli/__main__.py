"""``python -m skcryoal.cli``: same as the ``skcryoal`` console script."""

import sys

from . import main

sys.exit(main())
