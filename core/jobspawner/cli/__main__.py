"""``python -m jobspawner.cli``."""

import sys

from . import main

sys.exit(main())
