"""The .mat writers of the sample and the tests: equal input, equal bytes."""

from mpii_pose.sample.mat_writers import official_mat
from tests.official_cases import rect


def test_the_writer_is_reproducible():
    images = [{"name": "a.jpg", "annorect": [rect(), rect(objpos=None)]}, {"name": "b.jpg"}]
    data = official_mat(images, video_list=["abc"])
    assert data == official_mat(images, video_list=["abc"])
    assert data.startswith(b"MATLAB 5.0 MAT-file, written by mpii_pose") and b"Created" not in data
    assert data != official_mat(images, video_list=["abd"])
