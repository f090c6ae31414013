"""What the tests share besides fixtures: building, running commands, reading results."""

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import psutil
from PIL import Image

from mpii_pose import Builder

REPO = Path(__file__).resolve().parent.parent

# Where a build of this version lives under its data dir.
DATASET_DIR = Path("mpii_pose") / "per_person"  # the default config's builds
DATASET = DATASET_DIR / str(Builder.VERSION)


def build(manual: Path, data_dir: Path, engine=None, file_format=None, **config):
    """Builds `manual` into `data_dir` in this process, with `engine` (an engine or its name), else
    with the engine a user gets ($MPII_POSE_ENGINE is not set in tests: the automatic choice)."""
    import tensorflow_datasets as tfds

    builder = Builder(data_dir=str(data_dir), file_format=file_format, engine=engine)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(manual), **config)
    )
    return builder


def encoded_image(mode: str, fmt: str, **options) -> bytes:
    """A 32x24 image of random pixels (the same every call) in Pillow's `mode`, saved as `fmt`."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, size=(24, 32, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def decoded_image(data: bytes) -> Image.Image:
    """The image `data` holds, decoded."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


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

# As a new user's shell has it: no TF_CPP_MIN_LOG_LEVEL to quiet TensorFlow's start-up.
QUIET_ENV = {k: v for k, v in ENV.items() if k != "TF_CPP_MIN_LOG_LEVEL"}


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


# What a clean clone does not have: build products, caches, environments.
_NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".tfds-*",  # CI's oldest TFDS of the range (.ci/run)
)


def clean_clone(destination: Path) -> Path:
    """A copy of the checkout as a clean clone has it, at `destination`."""
    shutil.copytree(REPO, destination, ignore=_NOT_IN_A_CLONE)
    return destination


def fresh_env(bin_dir: Path) -> dict[str, str]:
    """The environment of a new shell with the virtual environment `bin_dir` activated: no
    Python or TensorFlow settings of this one; pip offline (no index; the build backend from the
    environment, as `--no-build-isolation`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # set for the tests, not in a user's shell
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(bin_dir.parent)
    env.update(PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0")  # "0": no isolation (pip's way)
    return env


def run_in(env: dict[str, str], command: str, cwd: Path) -> subprocess.CompletedProcess:
    """Runs the shell `command` in `env` from `cwd`; it must succeed."""
    result = subprocess.run(
        command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


def descendants() -> set[psutil.Process]:
    """The processes this one started, and theirs: a local Ray's among them."""
    return set(psutil.Process().children(recursive=True))


def still_running(before: set[psutil.Process], timeout: float = 10) -> list[str]:
    """The processes started since `before` was taken that have not ended within `timeout`
    seconds (a Ray worker ends on its own shortly after its raylet): "pid name" each."""
    _, alive = psutil.wait_procs(descendants() - before, timeout=timeout)
    left = []
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            left.append(f"{process.pid} {process.name()}")
    return left
