"""`mpii_pose.transforms`, the public path of
`mpii_pose.training.numpy_transforms` (the same module object, so every name and patch is shared)."""

import sys

from mpii_pose.training import numpy_transforms

sys.modules[__name__] = numpy_transforms
