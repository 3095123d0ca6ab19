"""``python -m sdae.cli`` (and ``torchrun -m sdae.cli``)."""

import sys

from .main import main

sys.exit(main())
