"""examples/train_hourglass.py trains a few steps on the bundled sample and reports PCKh."""

import json
import math
import re
import sys

import numpy as np
import pytest

from tests.helpers import REPO, checked, read_json

sys.path.insert(0, str(REPO / "examples"))
import hourglass  # noqa: E402
import train_hourglass  # noqa: E402

from mpii_pose.sources.manual_dir import SAMPLE_DIR  # noqa: E402
from mpii_pose.training.tf_pipeline import PipelineConfig  # noqa: E402


@pytest.mark.parametrize("size", [64, 128])
def test_evaluation_of_the_true_heatmaps_is_perfect(sample_build, size):
    """The example's way from heatmaps to PCKh: the pipeline's own targets must score 100 %."""
    config = PipelineConfig(image_size=(size, size), heatmap_size=(size // 4, size // 4))
    data_dir, _ = sample_build
    result = train_hourglass.evaluate(lambda crops: crops["heatmaps"], str(data_dir), config, 4)
    assert result.mean == 100.0 and sum(result.labelled) > 100


@pytest.mark.parametrize("stacks", [1, 2])
def test_the_last_stack_is_a_batch_of_heatmaps(stacks):
    model = hourglass.stacked_hourglass((64, 64), stacks=stacks, channels=16, depth=2)
    heatmaps = train_hourglass.last_stack(model(np.zeros((3, 64, 64, 3), np.float32)))
    assert tuple(heatmaps.shape) == (3, 16, 16, 16)


@pytest.mark.slow(seconds=40)
def test_hourglass_example_trains_and_reports_pckh(sample_build, tmp_path):
    (data_dir, _), out = sample_build, tmp_path / "run"
    result = checked([sys.executable, REPO / "examples" / "train_hourglass.py",
                      "--data_dir", data_dir, "--smoke", "--out", out])  # fmt: skip
    assert "| Arch | Head | Shoulder | Elbow | Wrist | Hip | Knee | Ankle | Mean | Mean@0.1 |" in (
        result.stdout
    )
    report = json.loads((out / "results.json").read_text())
    assert len(report["loss"]) == 1 and math.isfinite(report["loss"][0])
    assert 0.0 <= report["pckh"]["Mean"] <= 100.0
    assert f"PCKh@0.5 mean {report['pckh']['Mean']:.2f} %" in result.stdout
    assert (out / "hourglass.keras").stat().st_size > 0
    for split in ("test", "validation"):
        submission = tmp_path / f"{split}.mat"
        result = checked([sys.executable, REPO / "examples" / "submit_hourglass.py",
                          "--data_dir", data_dir, "--model", out / "hourglass.keras",
                          "--split", split, "--out", submission, "--manual_dir", SAMPLE_DIR,
                          *(["--flip_test"] if split == "validation" else [])])  # fmt: skip
        assert f"Wrote {submission}: 'pred' with " in result.stdout
        saved = np.load(submission.with_suffix(".predictions.npz"))
        persons = len(read_json(SAMPLE_DIR / ("test.json" if split == "test" else "valid.json")))
        assert sorted(saved["annotation_index"]) == list(range(persons))
        assert saved["preds"].shape == (persons, 16, 2) and np.isfinite(saved["preds"]).all()


def test_grain_example_draws_batches_and_scores_the_targets(sample_array_record):
    script = REPO / "examples" / "grain_batches.py"
    result = checked([sys.executable, script, "--data_dir", sample_array_record,
                      "--batch_size", "4", "--batches", "3", "--image_size", "128"])  # fmt: skip
    assert "'image': ((4, 128, 128, 3), 'float32')" in result.stdout
    assert "12 training examples in" in result.stdout
    result = checked([sys.executable, script, "--data_dir", sample_array_record, "--evaluate",
                      "--batch_size", "4"])  # fmt: skip
    assert "PCKh@0.5 mean 100.00 %" in result.stdout


def test_torch_example_loads_batches(sample_array_record):
    pytest.importorskip(
        "torch", reason="PyTorch is not a dependency; its recipe uses only the data source and "
        "mpii_pose.training.numpy_transforms, which the Grain tests cover"
    )  # fmt: skip
    result = checked([sys.executable, REPO / "examples" / "torch_loader.py",
                      "--data_dir", sample_array_record, "--batch_size", "4"])  # fmt: skip
    assert "batch: {'image': (4, 256, 256, 3)" in result.stdout
    assert re.search(r"^64 training examples in [\d.]+ s: [\d.]+ examples/s", result.stdout, re.M)
    assert "not writable" not in result.stderr, result.stderr  # PyTorch's warning, per field
