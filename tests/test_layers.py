"""The package's layers: sources → plan → writer → engines → builder → CLI, readers of a build on
the side, the sample and fixture writers outside. An import that runs against them fails here."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mpii_pose"

# Each module's layer, by module name (a package stands for its modules).
LAYER_OF: dict[str, str] = {
    **dict.fromkeys(
        ["errors", "skeleton", "interruption", "tf_startup", "leftovers", "log_filters"], "base"
    ),
    **dict.fromkeys(
        ["annotations", "head_boxes", "mat_values", "official_annotations", "official_matching"]
        + ["manual_dir"]
        + ["downloads", "sources", "image_check", "build_record"],
        "sources",
    ),
    "planning": "plan",
    **dict.fromkeys(
        ["records", "images", "features", "example_encoder", "example_writer", "tfrecord"]
        + ["array_records", "shard_writer", "checks"],
        "writer",
    ),
    "engines": "engines",
    "mpii_pose_dataset_builder": "builder",
    "": "builder",  # the package's __init__ registers the builder
    **dict.fromkeys(
        ["pipeline", "pipeline_config", "transforms", "grain_loader", "evaluation", "drawing"]
        + ["predictions", "submission", "submission_score"],
        "readers",
    ),
    **dict.fromkeys(["cli", "submit_command", "score_command"], "cli"),
    "sample": "sample",
    "mpii_pose_dataset_builder_test": "tests",  # TFDS's test of the builder, on the sample
}
# What each layer may import besides itself.
MAY_IMPORT: dict[str, set[str]] = {
    "base": set(),
    "sources": {"base"},
    "plan": {"base", "sources"},
    "writer": {"base", "sources", "plan"},
    "engines": {"base", "sources", "plan", "writer"},
    "builder": {"base", "sources", "plan", "writer", "engines"},
    "readers": {"base", "sources"},
    "cli": {"base", "sources", "plan", "writer", "engines", "builder", "readers"},
    "sample": {"base", "sources", "plan", "writer", "engines", "builder", "readers"},
    "tests": {"base", "sources", "plan", "writer", "engines", "builder", "readers", "sample"},
}


def module_name(path: Path) -> str:
    """`mpii_pose/engines/choice.py` -> `engines.choice`; the package's __init__ -> ''."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    """The layer of `module`, from its own entry or its package's."""
    parts = module.split(".")
    for end in range(len(parts), -1, -1):
        name = ".".join(parts[:end])
        if name in LAYER_OF and (end or not module):
            return LAYER_OF[name]
    raise KeyError(f"mpii_pose.{module} has no layer in LAYER_OF: give it one")


def imported(path: Path) -> set[str]:
    """The package's modules that `path` imports, anywhere in it (functions included); the
    package imports absolutely, so that this sees every import."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}:{node.lineno}: a relative import"
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name == "mpii_pose" or name.startswith("mpii_pose."):
                module = name.removeprefix("mpii_pose").lstrip(".")
                while module and not is_module(module):  # `from x import y`: y may be a name
                    module = module.rpartition(".")[0]
                found.add(module)
    return found


def is_module(module: str) -> bool:
    path = PACKAGE / module.replace(".", "/")
    return path.with_suffix(".py").is_file() or path.is_dir()


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "dummy_data" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_import_follows_the_layers(path):
    own = layer(module_name(path))
    against = {
        f"mpii_pose.{module}".rstrip(".") + f" ({layer(module)})"
        for module in imported(path)
        if layer(module) != own and layer(module) not in MAY_IMPORT[own]
    }
    assert not against, f"{path.name} ({own}) imports {', '.join(sorted(against))}"


def test_the_check_sees_an_import_against_the_layers(tmp_path):
    """The test above can fail: an upward import and an import of the sample are found."""
    module = tmp_path / "planning.py"
    module.write_text("from mpii_pose.shard_writer import write_shard\nimport mpii_pose.sample\n")
    assert imported(module) == {"shard_writer", "sample"}
    assert layer("shard_writer") not in MAY_IMPORT[layer("planning")]
    assert layer("sample.generator") not in MAY_IMPORT[layer("records")]
