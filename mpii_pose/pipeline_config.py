"""`mpii_pose.pipeline_config`, the public path of
`mpii_pose.training.config` (the same module object, so every name and patch is shared)."""

import sys

from mpii_pose.training import config

sys.modules[__name__] = config
