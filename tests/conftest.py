"""Shared fixtures: generated manual directories and a quiet TensorFlow."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.pop("MPII_POSE_ENGINE", None)  # tests choose their engines

from mpii_pose import Builder  # noqa: E402
from mpii_pose.sample import write_sample  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
# Where a build of this version lives under its data dir.
DATASET = Path("mpii_pose") / str(Builder.VERSION)


@pytest.fixture
def manual_dir(tmp_path: Path) -> Path:
    """A fresh synthetic manual directory: images/, train.json, valid.json, gt_valid.mat, and the
    official .mat, which lacks every eleventh person (as it lacks some real ones)."""
    return write_sample(
        tmp_path / "manual", train_images=8, validation_images=3, seed=7, not_official_every=11
    )


def build(manual: Path, data_dir: Path, engine=None, file_format=None, **config):
    """Builds `manual` into `data_dir` in this process, with `engine` (an engine or its name), else
    with the engine a user gets ($MPII_POSE_ENGINE is not set in tests: the automatic choice)."""
    import tensorflow_datasets as tfds

    builder = Builder(data_dir=str(data_dir), file_format=file_format, engine=engine)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(manual), **config)
    )
    return builder


def read_json(path: Path) -> list[dict]:
    return json.loads(Path(path).read_text())


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


BIN = Path(sys.executable).parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "RAY_USAGE_STATS_ENABLED": "0"}
# `tfds build` with TFDS's own writer: the reference every engine's bytes are compared with.
TFDS_WRITER_ENV = {**ENV, "MPII_POSE_ENGINE": "tfds"}


def run(args: list, cwd: Path = REPO, env: dict = ENV) -> subprocess.CompletedProcess:
    """Runs a command of this environment (mpii-pose, tfds, python), capturing its output."""
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


# Runs a command with SIGINT's default disposition: a shell that starts the tests in the
# background makes them (and what they start) ignore SIGINT, which exec keeps.
_DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def interruptible(args: list) -> list[str]:
    """`args` (a program path first) run so that SIGINT interrupts it, as Ctrl-C would."""
    return [sys.executable, "-c", _DEFAULT_SIGINT, *(str(a) for a in args)]


def checked(args: list, cwd: Path = REPO, env: dict = ENV) -> subprocess.CompletedProcess:
    result = run(args, cwd, env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def digests(data_dir: Path) -> dict[str, str]:
    """sha256 of every file under `data_dir`/mpii_pose (the build, and anything else left there),
    by path: two builds are the same when these are."""
    root = Path(data_dir) / DATASET.parts[0]
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def leftovers(data_dir: Path) -> list[str]:
    """What a build left of the dataset (TFDS also makes an empty downloads/ folder)."""
    dataset = Path(data_dir) / "mpii_pose"
    return (
        sorted(str(p.relative_to(data_dir)) for p in dataset.rglob("*")) if dataset.exists() else []
    )


@pytest.fixture(scope="session")
def shard_data(tmp_path_factory) -> Path:
    """A manual directory with more persons than shards (64 train, 8 validation) and odd images."""
    return write_sample(tmp_path_factory.mktemp("shards") / "manual", 40, 6, seed=5)


@pytest.fixture(scope="session")
def reference_dir(shard_data, tmp_path_factory) -> Path:
    """`tfds build` with TFDS's own writer, in its own process, of `shard_data`: the data dir."""
    data_dir = tmp_path_factory.mktemp("reference")
    checked([BIN / "tfds", "build", "mpii_pose", "--imports", "mpii_pose",
             "--manual_dir", shard_data, "--data_dir", data_dir], env=TFDS_WRITER_ENV)  # fmt: skip
    return data_dir


@pytest.fixture(scope="session")
def reference(reference_dir) -> dict[str, str]:
    """sha256 of every file of `tfds build` on `shard_data`."""
    return digests(reference_dir)
