"""Packaging: README's first steps as a new user runs them, from a wheel in a fresh environment.

The wheel is built from a clean copy of the checkout and installed with `pip install --no-index`
into a new virtual environment, whose dependencies come from this environment's site-packages
(linked in without this package, its editable finder or any `.pth` pointing at the checkout):
what the wheel lacks cannot be served from the source tree, and pip still checks that every
declared dependency is there. Nothing is downloaded.
"""

import os
import re
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

# What a clean clone does not have: build products, caches, environments.
_NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache"
)


def readme_blocks(language: str) -> list[str]:
    """README.md's fenced code blocks in `language`, in order."""
    return re.findall(rf"```{language}\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `pip wheel` builds from a clean copy of the checkout."""
    source = tmp_path_factory.mktemp("clone") / "mpii_pose"
    shutil.copytree(REPO, source, ignore=_NOT_IN_A_CLONE)
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


@pytest.fixture(scope="module")
def fresh(wheel, tmp_path_factory) -> Path:
    """A new virtual environment with the wheel installed by pip; returns its bin/ folder."""
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
    _run(f"python -m pip install --no-index -q {wheel}", bin_dir, root)
    return bin_dir


def _isolated(bin_dir: Path) -> dict[str, str]:
    """The environment of a new shell with the fresh virtual environment activated."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(bin_dir.parent)
    return env


def _run(command: str, bin_dir: Path, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command, shell=True, cwd=cwd, env=_isolated(bin_dir), capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


def test_the_wheel_holds_every_module_and_data_file_of_the_package(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    package = REPO / "mpii_pose"
    files = [p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert {p.relative_to(REPO).as_posix() for p in files} <= names
    assert "mpii_pose/engines/ray_engine.py" in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "examples/"))]
    checksums = zipfile.ZipFile(wheel).read("mpii_pose/checksums.tsv")
    assert checksums == (REPO / "checksums.tsv").read_bytes()  # a copy of the root file, not a link


@pytest.mark.slow
def test_readme_first_command_and_python_from_a_fresh_environment(fresh, tmp_path):
    """README's first command, then its Python, run outside the checkout from the installed wheel."""
    first = readme_blocks("bash")[0].strip()
    assert first.startswith("pip install . && "), first  # what `fresh` did, from a wheel
    data_dir = tmp_path / "mpii_pose_sample"
    command = first.removeprefix("pip install . && ").replace(
        "/tmp/mpii_pose_sample", str(data_dir)
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    built = _run(command, fresh, elsewhere)
    assert "Built mpii_pose" in built.stdout
    assert "Traceback" not in built.stderr
    snippet = readme_blocks("python")[0].replace("/tmp/mpii_pose_sample", str(data_dir))
    where = "\nimport mpii_pose.engines.ray_engine, sys; print('FROM', mpii_pose.__file__)\n"
    (elsewhere / "snippet.py").write_text(snippet + where)
    out = _run("python snippet.py", fresh, elsewhere).stdout
    site_packages = fresh.parent / "lib"
    origin = Path(out.split("FROM ")[-1].strip())
    assert origin.is_relative_to(site_packages), origin
    assert ".jpg" in out and "(16, 2)" in out  # the snippet printed an example


_PRINT_CHECKSUMS = (
    "import mpii_pose, pathlib; b = mpii_pose.Builder; "
    "print(pathlib.Path(mpii_pose.__file__).parent); print(b._checksums_path.read_text()); "
    "print(sorted(b.url_infos))"
)


def _assert_root_checksums(printed: str, package_root: Path) -> None:
    """`_PRINT_CHECKSUMS` ran from `package_root` and found the repository's checksums.tsv."""
    package_dir, rest = printed.split("\n", 1)
    assert Path(package_dir).is_relative_to(package_root)
    assert rest.startswith((REPO / "checksums.tsv").read_text())
    assert "mpii_human_pose_v1.tar.gz" in rest.splitlines()[-1]


@pytest.mark.slow
def test_the_installed_builder_reads_the_packaged_checksums(fresh, tmp_path):
    out = _run(f'python -c "{_PRINT_CHECKSUMS}"', fresh, tmp_path).stdout
    _assert_root_checksums(out, fresh.parent / "lib")


def test_the_checkout_builder_reads_the_root_checksums():
    printed = subprocess.run(
        [sys.executable, "-c", _PRINT_CHECKSUMS], cwd=REPO, check=True, capture_output=True,
        text=True,
    ).stdout  # fmt: skip
    _assert_root_checksums(printed, REPO)


def test_ci_runs_the_readme_test_command():
    """README's first command, its Python, then the test command, which CI runs as written."""
    readme = (REPO / "README.md").read_text()
    first, test_command = (b.strip() for b in readme_blocks("bash")[:2])
    assert (
        readme.index(first) < readme.index(readme_blocks("python")[0]) < readme.index(test_command)
    )
    assert "pytest" in test_command
    assert test_command in (REPO / ".ci" / "run").read_text()
