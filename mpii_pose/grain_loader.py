"""`mpii_pose.grain_loader`, the public path of
`mpii_pose.training.grain_loader` (the same module object, so every name and patch is shared)."""

import sys

from mpii_pose.training import grain_loader

sys.modules[__name__] = grain_loader
