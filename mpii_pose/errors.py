"""`mpii_pose.errors`, the public path of
`mpii_pose.base.errors` (the same module object, so every name and patch is shared)."""

import sys

from mpii_pose.base import errors

sys.modules[__name__] = errors
