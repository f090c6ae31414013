"""README's code blocks run as written: each is complete, or marked as an excerpt.

A fenced block is `python` or `bash` (code) or `text` (a folder tree, output). A code block is
complete, and run, unless the line right before its fence is `<!-- excerpt: why -->`: then it is
only part of a program (placeholders such as the data dir `D` and the manual dir `M`, the real
12 GB dataset, the suite's own command) and is not run. The fast tier checks that every block is
one or the other; the slow tier runs every complete block, in README's order, each in a new
process (python blocks with python, bash blocks with bash), from the wheel installed in a fresh
virtual environment (conftest's `fresh`), in a clean copy of the checkout (where `pip install .`
and `examples/` belong), with no TF_CPP_MIN_LOG_LEVEL, as a user's shell.

The README's paths under /tmp/ are moved into the test's temporary folder: the runs leave nothing
in /tmp, and do not meet a user's or another run's build there. pip runs offline (no index; the
build backend from the environment).
"""

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from mpii_pose.base import settings
from mpii_pose.base.log_filters import BEAM_NO_APITOOLS, TFDS_DTYPE_DEPRECATED
from tests.helpers import BIN, REPO, checked, clean_clone, fresh_env, run_in

README = REPO / "README.md"
RUN = {"python": "python", "bash": "bash -e -o pipefail"}
NOT_CODE = "text"
_BLOCK = re.compile(
    r"^(?:<!-- excerpt(?P<why>.*?) -->\n)?```(?P<language>\S*)\n(?P<code>.*?)^```$", re.M | re.S
)
# Warnings a user of the README cannot act on: none may reach its blocks' stderr.
UNACTIONABLE = (
    TFDS_DTYPE_DEPRECATED,
    "did not fully read the dataset being cached",  # TensorFlow, when a cache is read in part
    BEAM_NO_APITOOLS,
    "Traceback",
)


@dataclass(frozen=True)
class Block:
    language: str
    code: str
    excerpt: str | None  # why it is not run; None: complete
    line: int  # of the opening fence, from 1

    @property
    def complete(self) -> bool:
        return self.excerpt is None and self.language in RUN


def readme_blocks(text: str | None = None) -> list[Block]:
    """README.md's fenced code blocks, in order."""
    text = README.read_text() if text is None else text
    return [
        Block(
            m["language"],
            m["code"],
            None if m["why"] is None else m["why"].removeprefix(":").strip(),
            text.count("\n", 0, m.start("language")) + 1,
        )
        for m in _BLOCK.finditer(text)
    ]


def at_home(code: str, home: Path) -> str:
    """`code` with its paths under /tmp/ moved into `home`."""
    return code.replace("/tmp/", f"{home}/")


def test_every_block_is_run_or_marked_as_an_excerpt():
    text = README.read_text()
    blocks = readme_blocks(text)
    assert text.count("```") == 2 * len(blocks), "a fence the parser did not pair"
    markers = re.findall(r"^<!-- excerpt", text, re.M)
    excerpts = [b for b in blocks if b.excerpt is not None]
    assert len(markers) == len(excerpts), "an excerpt marker not on the line right before a fence"
    for block in blocks:
        where = f"README.md:{block.line}"
        assert block.language in (*RUN, NOT_CODE), f"{where}: a block is python, bash or text"
        if block.excerpt is not None:
            assert block.language in RUN, f"{where}: only code is an excerpt"
            assert block.excerpt, f"{where}: say why, as <!-- excerpt: why -->"
        elif block.complete:  # placeholders make an excerpt
            assert not re.search(r"\b[DM]\b|\[--", block.code), f"{where}: a placeholder"
    assert sum(b.complete for b in blocks) >= 8


def test_excerpt_markers_are_read_as_written():
    text = "<!-- excerpt: needs M -->\n```bash\nls M\n```\n\n```python\nprint(1)\n```\n"
    first, second = readme_blocks(text)
    assert (first.excerpt, first.complete, first.line) == ("needs M", False, 2)
    assert (second.excerpt, second.complete, second.code) == (None, True, "print(1)\n")


def test_readme_starts_with_a_command_its_python_and_the_test_command():
    """README's first command, its Python, then the test command (which CI runs: below)."""
    first, python, test_command = readme_blocks()[:3]
    assert (first.language, python.language, test_command.language) == ("bash", "python", "bash")
    assert "pytest" in test_command.code and test_command.excerpt


@pytest.mark.slow
def test_reading_the_sample_as_the_readme_does_prints_no_warning_a_user_cannot_act_on(tmp_path):
    """TFDS's deprecation warnings about its own decoder, and TensorFlow's warning that a cache
    was read in part (TFDS auto-cached the small sample, `take(1)` read one example of it).

    Slow: a build and a process that starts TensorFlow; the run of every complete block (below)
    checks the same stderr from the wheel, this one from the checkout."""
    first, python = readme_blocks()[:2]
    assert "mpii-pose build --sample --data_dir /tmp/mpii_pose_sample" in first.code
    checked([BIN / "mpii-pose", "build", "--sample", "--data_dir", tmp_path / "mpii_pose_sample",
             "--quiet"])  # fmt: skip
    script = tmp_path / "quick_start.py"
    script.write_text(at_home(python.code, tmp_path))
    env = fresh_env(BIN)  # this environment, as a user's shell has it
    result = subprocess.run(
        [sys.executable, script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert ".jpg" in result.stdout and "(16, 2)" in result.stdout
    for message in UNACTIONABLE:
        assert message not in result.stderr, result.stderr


@pytest.mark.slow(seconds=75)
def test_every_complete_block_runs_from_the_wheel_in_a_fresh_environment(fresh, tmp_path):
    checkout = clean_clone(tmp_path / "mpii_pose")
    home, scripts = tmp_path / "tmp", tmp_path / "blocks"
    home.mkdir()
    scripts.mkdir()
    env = fresh_env(fresh)
    complete = [block for block in readme_blocks() if block.complete]
    for block in complete:
        script = scripts / f"readme_{block.line}.{'py' if block.language == 'python' else 'sh'}"
        script.write_text(at_home(block.code, home))
        result = run_in(env, f"{RUN[block.language]} {script}", checkout)
        for message in UNACTIONABLE:
            assert message not in result.stderr, f"README.md:{block.line}\n{result.stderr}"
        if "print(" in block.code:
            assert result.stdout.strip(), f"README.md:{block.line} printed nothing"
    # The blocks' Python imported the installed package, not the copy of the checkout.
    origin = scripts / "origin.py"
    origin.write_text("import mpii_pose.engines.ray_engine, mpii_pose; print(mpii_pose.__file__)")
    printed = run_in(env, f"python {origin}", checkout).stdout.strip()
    assert Path(printed).is_relative_to(fresh.parent / "lib"), printed
    assert (home / "mpii_pose_sample" / "mpii_pose").is_dir()  # built where the README says


def test_ci_runs_the_readme_s_test_command():
    """.ci/run holds README's test command line for line, so that CI runs what a developer runs."""
    (block,) = [b for b in readme_blocks() if "pip install -e '.[test]'" in b.code]
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert all(line in ci for line in block.code.strip().splitlines())


def test_the_environment_table_lists_every_variable_the_settings_read():
    text = README.read_text()
    rows = re.findall(r"^\| `([A-Z_]+)` \|", text, re.M)
    assert rows == list(settings.VARIABLES)
