"""Shared fixtures: generated manual directories, reference builds, builds of the sample that
tests only read, a wheel in a fresh environment; and a quiet TensorFlow."""

import os
import re
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.pop("MPII_POSE_ENGINE", None)  # tests choose their engines

from mpii_pose.sample import write_sample  # noqa: E402
from tests.helpers import (  # noqa: E402
    BIN,
    QUIET_ENV,
    TFDS_WRITER_ENV,
    checked,
    clean_clone,
    digests,
    fresh_env,
    run_in,
)


def _expected_seconds(item: pytest.Item) -> float:
    """About how long `item` runs alone: a slow test's `seconds` where it says, 0 for other slow
    tests, −1 for the fast tier."""
    slow = item.get_closest_marker("slow")
    return -1 if slow is None else slow.kwargs.get("seconds", 0)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first: across pytest-xdist's workers (`-n auto --dist worksteal`) they
    start early and the many short ones fill in around them, instead of a long test ending the
    run alone."""
    items.sort(key=_expected_seconds, reverse=True)


@pytest.fixture
def manual_dir(tmp_path: Path) -> Path:
    """A fresh synthetic manual directory: images/, train.json, valid.json, gt_valid.mat, and the
    official .mat, which lacks every eleventh person (as it lacks some real ones)."""
    return write_sample(
        tmp_path / "manual", train_images=8, validation_images=3, seed=7, not_official_every=11
    )


@pytest.fixture(scope="session")
def shard_data(tmp_path_factory) -> Path:
    """A manual directory with more persons than shards (64 train, 8 validation) and odd images."""
    return write_sample(tmp_path_factory.mktemp("shards") / "manual", 40, 6, seed=5)


@pytest.fixture(scope="session")
def reference_dir(shard_data, tmp_path_factory) -> Path:
    """`tfds build` with TFDS's own writer, in its own process, of `shard_data`: the data dir."""
    data_dir = tmp_path_factory.mktemp("reference")
    checked([BIN / "tfds", "build", "mpii_pose/per_person", "--imports", "mpii_pose",
             "--manual_dir", shard_data, "--data_dir", data_dir], env=TFDS_WRITER_ENV)  # fmt: skip
    return data_dir


@pytest.fixture(scope="session")
def reference(reference_dir) -> dict[str, str]:
    """sha256 of every file of `tfds build` on `shard_data`."""
    return digests(reference_dir)


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """`mpii-pose build --sample` into a new data dir, as a new user's shell runs it: the data
    dir and what the command printed. Shared: the tests only read it."""
    data_dir = tmp_path_factory.mktemp("sample_build")
    result = checked([BIN / "mpii-pose", "build", "--sample", "--data_dir", data_dir],
                     env=QUIET_ENV)  # fmt: skip
    return data_dir, result


@pytest.fixture(scope="session")
def sample_array_record(tmp_path_factory) -> Path:
    """The data dir of `mpii-pose build --sample --file_format array_record`. Shared: the tests
    only read it."""
    data_dir = tmp_path_factory.mktemp("sample_array_record")
    checked([BIN / "mpii-pose", "build", "--sample", "--data_dir", data_dir, "--quiet",
             "--file_format", "array_record"])  # fmt: skip
    return data_dir


@pytest.fixture(scope="session")
def trial_sample(tmp_path_factory) -> Path:
    """The data dir of `mpii-pose build --sample --max_examples_per_split 2`, a trial build.
    Shared: the tests only read it, or ask for a build that finds it built."""
    data_dir = tmp_path_factory.mktemp("trial_sample")
    checked([BIN / "mpii-pose", "build", "--sample", "--data_dir", data_dir, "--quiet",
             "--max_examples_per_split", "2"])  # fmt: skip
    return data_dir


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The wheel `pip wheel` builds from a clean copy of the checkout."""
    source = clean_clone(tmp_path_factory.mktemp("clone") / "mpii_pose")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", out, source],
        check=True, capture_output=True, cwd=out,
    )  # fmt: skip
    (path,) = out.glob("mpii_pose-*.whl")
    return path


def _dependencies(folder: Path) -> Path:
    """This environment's site-packages linked into `folder`, without mpii_pose in any form."""
    folder.mkdir()
    own = re.compile(r"^(mpii_pose|__editable__)", re.I)
    for packages in map(Path, site.getsitepackages()):
        for entry in packages.iterdir():
            if not own.match(entry.name) and not (folder / entry.name).exists():
                (folder / entry.name).symlink_to(entry)
    return folder


@pytest.fixture(scope="session")
def fresh(wheel, tmp_path_factory) -> Path:
    """A new virtual environment with the wheel installed by pip; returns its bin/ folder.

    Its dependencies come from this environment's site-packages (linked in without this package,
    its editable finder or any `.pth` pointing at the checkout): what the wheel lacks cannot be
    served from the source tree, and pip still checks that every declared dependency is there.
    """
    root = tmp_path_factory.mktemp("fresh")
    venv.EnvBuilder(with_pip=True).create(root / "venv")
    bin_dir = root / "venv" / "bin"
    purelib = subprocess.run(
        [bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    deps = _dependencies(root / "dependencies")
    (Path(purelib) / "dependencies.pth").write_text(
        f"import site; site.addsitedir({str(deps)!r})\n"
    )
    run_in(fresh_env(bin_dir), f"python -m pip install --no-index -q {wheel}", root)
    return bin_dir
