"""``python -m jobspawner.cli``."""

import sys

from jobspawner.cli import main

sys.exit(main())
