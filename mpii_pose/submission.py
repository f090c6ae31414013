"""`mpii_pose.submission`, the public path of
`mpii_pose.benchmark.submission` (the same module object, so every name and patch is shared)."""

import sys

from mpii_pose.benchmark import submission

sys.modules[__name__] = submission
