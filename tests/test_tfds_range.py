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


def test_every_internal_name_is_found_in_this_release():
    """CI runs this file with the oldest release too: each name tfds_internals takes is there."""
    from mpii_pose.base import tfds_internals

    missing = [
        name for name in tfds_internals._WHEN_USED if getattr(tfds_internals, name, None) is None
    ]
    assert missing == []
