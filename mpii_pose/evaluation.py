"""`mpii_pose.evaluation`, the public path of
`mpii_pose.training.evaluation` (the same module object, so every name and patch is shared)."""

import sys

from mpii_pose.training import evaluation

sys.modules[__name__] = evaluation
