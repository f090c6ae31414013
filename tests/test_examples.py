"""examples/train_hourglass.py trains a few steps on the bundled sample and reports PCKh."""

import json
import math
import sys

from tests.conftest import BIN, REPO, checked


def test_hourglass_example_trains_and_reports_pckh(tmp_path):
    data_dir, out = tmp_path / "data", tmp_path / "run"
    checked([BIN / "mpii-pose", "build", "--sample", "--data_dir", data_dir, "--quiet"])
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
