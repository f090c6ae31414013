"""The environment variables a build reads: parsed in one place, bad values refused by name."""

import pytest
import tensorflow_datasets as tfds

import mpii_pose
from mpii_pose.base import settings
from mpii_pose.base.errors import MpiiPoseError
from tests.helpers import leftovers


def test_unset_variables_give_the_defaults():
    assert settings.read({}) == settings.Settings()
    assert settings.read({name: "  " for name in settings.VARIABLES}) == settings.Settings()


def test_values_are_read_as_their_settings(tmp_path):
    read = settings.read({
        "MPII_POSE_ENGINE": " Ray ",
        "MPII_POSE_STRICT_OFFICIAL": "yes",
        "MPII_POSE_MIRROR": "http://mirror.example/mpii",
        "MPII_POSE_CHECKSUMS": str(tmp_path / "checksums.tsv"),
        "MPII_POSE_SKIP_SPACE_CHECK": "on",
        "RAY_ADDRESS": "10.0.0.5:6379",
    })  # fmt: skip
    assert read == settings.Settings(
        engine="ray",
        strict_official=True,
        mirror="http://mirror.example/mpii",
        checksums=tmp_path / "checksums.tsv",
        skip_space_check=True,
        ray_address="10.0.0.5:6379",
    )


@pytest.mark.parametrize("value, expected", [("1", True), ("TRUE", True), ("on", True),
                                             ("0", False), ("no", False), ("", False)])  # fmt: skip
def test_a_flag_is_on_or_off(value, expected):
    assert settings.read({"MPII_POSE_STRICT_OFFICIAL": value}).strict_official is expected


def test_a_flag_that_is_neither_is_refused_by_name():
    with pytest.raises(settings.SettingsError, match=r"MPII_POSE_STRICT_OFFICIAL='maybe' is neither on"):  # fmt: skip
        settings.read({"MPII_POSE_STRICT_OFFICIAL": "maybe"})


def test_a_builder_reads_the_environment_once_when_made(monkeypatch, tmp_path, manual_dir):
    """A variable changed after the builder was made does not change its build."""
    monkeypatch.setenv("MPII_POSE_ENGINE", "local")
    builder = mpii_pose.Builder(data_dir=str(tmp_path))
    monkeypatch.setenv("MPII_POSE_ENGINE", "no-such-engine")
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir))
    )
    assert builder.last_write.reason == "MPII_POSE_ENGINE=local"
    with pytest.raises(MpiiPoseError, match="'no-such-engine'"):
        mpii_pose.Builder(data_dir=str(tmp_path / "other")).download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir))
        )
    assert leftovers(tmp_path / "other") == []
