"""The public import paths README documents are the modules in their layer folders: the same
objects, so names, private helpers and patches are shared."""

import importlib

import pytest

PUBLIC = {
    "pipeline": "training.tf_pipeline",
    "pipeline_config": "training.config",
    "transforms": "training.numpy_transforms",
    "grain_loader": "training.grain_loader",
    "evaluation": "training.evaluation",
    "drawing": "training.drawing",
    "skeleton": "base.skeleton",
    "errors": "base.errors",
    "submission": "benchmark.submission",
}


@pytest.mark.parametrize("public, home", PUBLIC.items())
def test_a_public_path_is_its_module(public, home):
    module = importlib.import_module(f"mpii_pose.{public}")
    assert module is importlib.import_module(f"mpii_pose.{home}")
    assert module.__name__ == f"mpii_pose.{home}"


def test_the_readme_s_imports_work():
    from mpii_pose.evaluation import PCKhAccumulator  # noqa: F401
    from mpii_pose.pipeline import PipelineConfig, input_pipeline  # noqa: F401
    from mpii_pose.pipeline_config import PipelineConfig as Config
    from mpii_pose.sources import SplitSource, load_sources  # noqa: F401
    from mpii_pose.submission import write_submission  # noqa: F401
    from mpii_pose.transforms import sample_augmentation, transform_example  # noqa: F401

    assert Config is PipelineConfig
