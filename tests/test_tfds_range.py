"""The TFDS release in use is one the package declares and was checked with."""

import tensorflow_datasets as tfds
from packaging.version import Version

from mpii_pose.base.tfds_internals import TFDS_RANGE
from tests.helpers import REPO


def test_tfds_is_within_the_checked_range():
    oldest, newest = map(Version, TFDS_RANGE)
    assert oldest <= Version(tfds.__version__) <= newest, tfds.__file__


def test_setup_declares_the_checked_range():
    oldest, newest = TFDS_RANGE
    assert f"tensorflow-datasets>={oldest},<={newest}" in (REPO / "setup.cfg").read_text()
