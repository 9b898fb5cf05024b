"""A site plugin whose import fails."""

import jobspawner_no_such_module  # noqa: F401
