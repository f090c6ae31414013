"""`mpii_pose.pipeline`, the public path of
`mpii_pose.training.tf_pipeline` (the same module object, so every name and patch is shared)."""

import sys

from mpii_pose.training import tf_pipeline

sys.modules[__name__] = tf_pipeline
