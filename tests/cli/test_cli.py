"""The commands users run: `mpii-pose build` and `show`, `tfds build` both ways, the import."""

import logging
import re
import shutil
import sys

import numpy as np
import pytest
from PIL import Image

from mpii_pose import Builder
from mpii_pose.base import settings
from mpii_pose.base.tf_startup import LEVEL_ENV, without_start_up_notices
from mpii_pose.cli.main import main
from mpii_pose.engines import ENGINES, choice
from mpii_pose.sources.manual_dir import ANNOTATION_FILES, OFFICIAL_FILE, SAMPLE_DIR
from tests.helpers import (
    BIN,
    DATASET,
    QUIET_ENV,
    REPO,
    build,
    checked,
    digests,
    read_json,
    run,
    write_json,
)


def test_import_loads_neither_tensorflow_nor_ray():
    code = (
        "import sys, mpii_pose, tensorflow_datasets as tfds; "
        "print('tensorflow' in sys.modules, 'ray' in sys.modules, "
        "'mpii_pose' in tfds.core.registered._DATASET_REGISTRY)"
    )
    assert checked([sys.executable, "-c", code]).stdout.split() == ["False", "False", "True"]


@pytest.mark.slow
def test_every_entry_point_builds_the_same_bytes_run_after_run(tmp_path):
    """Four separate processes: protobuf's map order changes between processes unless handled."""
    manual = ["--manual_dir", SAMPLE_DIR]
    first = checked([BIN / "mpii-pose", "build", "--sample", "--data_dir", tmp_path / "a"])
    checked([BIN / "mpii-pose", "build", *manual, "--data_dir", tmp_path / "b", "--quiet"])
    checked(
        [
            BIN / "tfds",
            "build",
            "mpii_pose/per_person",
            "--imports",
            "mpii_pose",
            *manual,
            "--data_dir",
            tmp_path / "c",
        ]
    )
    checked([BIN / "tfds", "build", *manual, "--data_dir", tmp_path / "d"], cwd=REPO / "mpii_pose")
    reference = digests(tmp_path / "a")
    files = {"train.json": 64, "valid.json": 8, "test.json": 32}  # and their most shards
    shards = sum(min(most, len(read_json(SAMPLE_DIR / f))) for f, most in files.items())
    assert len(reference) == 4 + shards  # + dataset_info, features, metadata; TFDS's .config
    for other in "bc":
        assert digests(tmp_path / other) == reference, other
    every_config = digests(tmp_path / "d")  # `tfds build` without a config builds each config
    assert {k: v for k, v in every_config.items() if not k.startswith("per_image/")} == reference
    assert any(name.startswith("per_image/") for name in every_config)
    assert "train" in first.stdout and f"{tmp_path / 'a'}" in first.stdout


def test_existing_build_is_reported_not_clobbered_unless_overwrite(trial_sample, tmp_path):
    """--overwrite leaves exactly the files a fresh build leaves."""
    args = [BIN / "mpii-pose", "build", "--sample", "--max_examples_per_split", "2"]
    shutil.copytree(trial_sample / DATASET.parts[0], tmp_path / DATASET.parts[0])  # a build of it
    shard = tmp_path / DATASET / "mpii_pose-train.tfrecord-00000-of-00002"
    shard.write_bytes(b"marker")
    again = checked([*args, "--data_dir", tmp_path])
    assert "already built" in again.stdout and shard.read_bytes() == b"marker"
    assert checked([*args, "--data_dir", tmp_path, "--overwrite", "--quiet"]).stdout == ""
    assert digests(tmp_path) == digests(trial_sample)


def test_bad_input_exits_with_a_clear_message(manual_dir, tmp_path):
    entries = read_json(manual_dir / "train.json")
    entries[3]["joints"] = entries[3]["joints"][:15]
    write_json(manual_dir / "train.json", entries)
    result = run([BIN / "mpii-pose", "build", "--manual_dir", manual_dir, "--data_dir", tmp_path])
    assert result.returncode == 1
    assert (
        f"mpii-pose: error: {manual_dir / 'train.json'}, entry 3: 'joints' must be a list of 16"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_a_beam_build_prints_a_workers_error_as_raised_without_beams_traceback(
    manual_dir, tmp_path
):
    """A truncated image passes the check before writing and stops its shard's write."""
    image = manual_dir / "images" / read_json(manual_dir / "train.json")[0]["image"]
    image.write_bytes(image.read_bytes()[:-300])
    args = [BIN / "mpii-pose", "build", "--manual_dir", manual_dir, "--data_dir", tmp_path / "d",
            "--engine", "beam"]  # fmt: skip
    result = run(args)
    assert result.returncode == 1
    last = result.stderr.splitlines()[-1]
    assert re.fullmatch(
        re.escape(f"mpii-pose: error: {image} (used by {manual_dir / 'train.json'}, entry 0): ")
        + r"cannot be decoded as an image \(image file is truncated[^\[\]]*\)",
        last,
    ), last
    assert "Traceback" not in result.stderr and "while running" not in result.stderr
    assert list((tmp_path / "d").iterdir()) == []


def test_missing_manual_dir_prints_the_download_instructions(tmp_path, capsys):
    assert main(["build", "--manual_dir", str(tmp_path / "nope"), "--data_dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"manual directory {tmp_path / 'nope'} does not exist" in err
    assert "mpii_human_pose_v1.tar.gz" in err and "mpii_val.json" in err


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["build", "--help"])
    text = capsys.readouterr().out
    options = ("--manual_dir", "--sample", "--data_dir", "--engine", "--workers", "--address",
               "--beam_pipeline_options", "--file_format", "--max_examples_per_split",
               "--overwrite", "--quiet")  # fmt: skip
    for option in options:
        assert option in text
    assert "annotations/" in text and "array_record" in text and "tfds.load" in text
    assert "RAY_ADDRESS" in text and "DirectRunner" in text
    flat = " ".join(text.split())  # argparse wraps lines
    for name, how in ENGINES.items():
        assert f"{name} ({how})" in flat
    assert f"--file_format {{{','.join(choice.ENGINE_FORMATS)}}}" in flat
    for name in (OFFICIAL_FILE, settings.STRICT_OFFICIAL, *ANNOTATION_FILES["test"]):
        assert name in flat


@pytest.mark.parametrize("argv", [["--help"], ["build", "--help"]])
def test_help_names_every_environment_variable_and_what_it_does(argv, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    flat = " ".join(capsys.readouterr().out.split())
    for name, meaning in settings.VARIABLES.items():
        assert f"{name} {' '.join(meaning.split())}" in flat


@pytest.fixture
def absl_level_kept():
    """`show` quiets TFDS's absl logger for the process; in this one, for the test only."""
    logger = logging.getLogger("absl")
    level = logger.level
    yield
    logger.setLevel(level)


def test_show_draws_a_grid_of_examples_with_their_head_boxes(
    manual_dir, tmp_path, capsys, absl_level_kept
):
    """`main` in this process: `mpii-pose show` runs as a command of its own in
    test_a_first_build_and_show_print_only_what_they_did."""
    build(manual_dir, tmp_path / "data")  # the sample has validation head boxes (gt_valid.mat)
    persons = len(read_json(manual_dir / "valid.json"))
    out = tmp_path / "pictures" / "grid.png"
    assert main(["show", "--data_dir", str(tmp_path / "data"), "--num", "5", "--start", "1",
                 "--columns", "2", "--tile", "160", "--out", str(out)]) == 0  # fmt: skip
    assert f"Wrote {out}: validation examples 1 to 5 of {persons}" in capsys.readouterr().out
    with Image.open(out) as image:
        assert (image.format, image.size) == ("PNG", (2 * 160, 3 * 160))
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    tiles = [pixels[r : r + 160, c : c + 160] for r in (0, 160, 320) for c in (0, 160)]
    assert all(len(np.unique(t.reshape(-1, 3), axis=0)) > 50 for t in tiles[:5])
    assert all(not np.array_equal(a, b) for i, a in enumerate(tiles[:5]) for b in tiles[i + 1 : 5])
    assert not tiles[5].any()  # no sixth example: an empty tile
    yellow = (pixels[..., 0] > 200) & (pixels[..., 1] > 170) & (pixels[..., 2] < 90)
    assert yellow.sum() > 100  # the head boxes (no sample colour has so little blue)


def test_show_without_a_build_says_how_to_build(tmp_path):
    out = tmp_path / "grid.png"
    result = run([BIN / "mpii-pose", "show", "--data_dir", tmp_path, "--out", out])
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        f"mpii-pose: error: mpii_pose/per_person {Builder.VERSION} is not built in {tmp_path}; "
        f"build it first with `mpii-pose build --config per_person --manual_dir M --data_dir "
        f"{tmp_path}`"
    ) in result.stderr
    assert not out.exists()


def test_show_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["show", "--help"])
    text = capsys.readouterr().out
    for option in ("--data_dir", "--split", "--num", "--start", "--columns", "--tile", "--out"):
        assert option in text
    assert "filename#person_index" in text and "head box" in text and "letterboxed" in text


NOISE = re.compile(r"^[IWE]\d{4} |absl::InitializeLog|cuInit|Unknown size|WARNING|Traceback", re.M)


def test_a_first_build_and_show_print_only_what_they_did(sample_build, tmp_path):
    """No TensorFlow start-up notices, no TFDS size line, no warnings; the summary's throughput is
    the progress bar's (both: writing the shards)."""
    data_dir, local = sample_build
    assert not NOISE.search(local.stdout + local.stderr), local.stdout + local.stderr
    bar = float(re.findall(r"([\d.]+) examples/s\]", local.stderr)[-1])
    summary = float(re.search(r"writing [\d.]+ s: ([\d.]+) examples/s", local.stdout)[1])
    assert 0.9 < summary / bar < 1.1, (bar, summary)
    args = ["show", "--data_dir", data_dir, "--out", tmp_path / "a.png"]
    result = checked([BIN / "mpii-pose", *args], env=QUIET_ENV)
    assert not NOISE.search(result.stdout + result.stderr), result.stdout + result.stderr


@pytest.mark.slow
def test_a_build_with_tfds_writer_prints_only_what_it_did(tmp_path):
    """Slow: a process that starts TensorFlow for nothing but this; the fast tier runs the same
    command (test_engine_choice) and filters TensorFlow's start-up in `show`'s process."""
    args = ["build", "--sample", "--engine", "tfds", "--data_dir", tmp_path]
    result = checked([BIN / "mpii-pose", *args], env=QUIET_ENV)
    assert not NOISE.search(result.stdout + result.stderr), result.stdout + result.stderr


@pytest.mark.slow
def test_tensorflow_logs_what_the_user_asked_for(sample_build, tmp_path):
    """Slow: a process that starts TensorFlow to see TensorFlow honour TF_CPP_MIN_LOG_LEVEL; the
    fast tier runs `mpii-pose` with it set (test_engine_choice), where the start-up is left alone."""
    data_dir, _ = sample_build
    args = [BIN / "mpii-pose", "show", "--data_dir", data_dir, "--out", tmp_path / "a.png"]
    result = checked(args, env={**QUIET_ENV, LEVEL_ENV: "0"})
    assert re.search(r"^I\d{4} ", result.stderr, re.M)


def test_start_up_notices_are_left_out_and_errors_kept():
    text = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on.\n"
        "I0000 00:00:1.1 1 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n"
        "I0000 00:00:1.2 1 cpu_feature_guard.cc:227] This TensorFlow binary is optimized\n"
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild\n"
        "E0000 00:00:1.3 1 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)\n"
        "E0000 00:00:1.4 1 other.cc:1] a real error\n"
        "  its second line\n"
    )
    kept = "E0000 00:00:1.4 1 other.cc:1] a real error\n  its second line\n"
    assert without_start_up_notices(text) == kept
    with_a_driver = text.replace("Could not find cuda drivers", "Found the driver")
    assert "failed call to cuInit" in without_start_up_notices(with_a_driver)


def test_a_beam_build_draws_its_bar_once_without_beams_import_notice(tmp_path):
    """Beam's workers report all the examples at once, when the pipeline ends: that update and
    the bar's close each drew the full bar, twice in a log; Beam's import warned of apitools."""
    args = [BIN / "mpii-pose", "build", "--sample", "--engine", "beam", "--data_dir", tmp_path]
    result = checked(args, env=QUIET_ENV)
    assert not NOISE.search(result.stdout + result.stderr), result.stderr
    assert result.stderr.count("100%|") == 1, result.stderr


@pytest.mark.slow
def test_a_ray_build_prints_no_notice_into_the_progress_bar(tmp_path):
    """Ray enables token authentication for its local cluster without saying so here."""
    args = [BIN / "mpii-pose", "build", "--sample", "--engine", "ray", "--data_dir", tmp_path]
    result = checked(args, env=QUIET_ENV)
    assert not NOISE.search(result.stdout + result.stderr), result.stderr
    assert "Token authentication" not in result.stderr


def test_build_and_show_the_per_image_config(tmp_path):
    result = checked([BIN / "mpii-pose", "build", "--sample", "--config", "per_image",
                      "--data_dir", tmp_path / "data"])  # fmt: skip
    assert (
        f"Built mpii_pose 3.0.0 in {tmp_path / 'data' / 'mpii_pose' / 'per_image'}" in result.stdout
    )
    images = len({e["image"] for e in read_json(SAMPLE_DIR / "test.json")})
    out = tmp_path / "test.png"
    result = checked([BIN / "mpii-pose", "show", "--data_dir", tmp_path / "data", "--config",
                      "per_image", "--split", "test", "--out", out])  # fmt: skip
    assert f"test examples 0 to {images - 1} of {images}" in result.stdout
    assert Image.open(out).size == (512, 512)  # 2 x 2 tiles of 256
    result = run([BIN / "mpii-pose", "show", "--data_dir", tmp_path / "data", "--out", out])
    assert "mpii_pose/per_person 3.0.0 is not built" in result.stderr
    assert "mpii-pose build --config per_person" in result.stderr
    info = checked([BIN / "mpii-pose", "info", "--data_dir", tmp_path / "data"]).stdout
    assert info.startswith(
        f"mpii_pose/per_image 3.0.0 in {tmp_path / 'data' / 'mpii_pose' / 'per_image' / '3.0.0'}"
    )


def test_per_image_captions_count_the_unannotated_persons():
    from mpii_pose.cli.main import _caption

    persons = {"annotated": np.array([True, False, False])}
    assert _caption({"filename": b"a.jpg", "persons": persons}) == "a.jpg (3, 2 unannotated)"
    assert _caption({"filename": b"a.jpg", "person_index": 4}) == "a.jpg#4"
