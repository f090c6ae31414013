"""`mpii_pose.skeleton`, the public path of
`mpii_pose.base.skeleton` (the same module object, so every name and patch is shared)."""

import sys

from mpii_pose.base import skeleton

sys.modules[__name__] = skeleton
