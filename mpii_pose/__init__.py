"""MPII Human Pose for TensorFlow Datasets: `import mpii_pose` registers the `mpii_pose` builder.

Importing the package loads TFDS's registry but neither TensorFlow nor Ray.
"""

from mpii_pose.mpii_pose_dataset_builder import Builder

__version__ = "3.0.0"
__all__ = ["Builder", "__version__"]
