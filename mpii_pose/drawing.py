"""`mpii_pose.drawing`, the public path of
`mpii_pose.training.drawing` (the same module object, so every name and patch is shared)."""

import sys

from mpii_pose.training import drawing

sys.modules[__name__] = drawing
