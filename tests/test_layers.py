"""The package's layers, one folder each: base → sources → shards → engines → builder → cli;
training and benchmark, readers of a build, on the side; the sample and fixture writers outside.
A module's layer is its folder; an import that runs against the layers fails here."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mpii_pose"

# The layers that are folders of the package.
FOLDERS = ("base", "sources", "shards", "engines", "training", "benchmark", "cli", "sample")
# The modules at the top: the TFDS dataset folder's own files, and the old import paths kept.
LAYER_OF: dict[str, str] = {
    "mpii_pose_dataset_builder": "builder",
    "": "builder",  # the package's __init__ registers the builder
    "mpii_pose_dataset_builder_test": "tests",  # TFDS's test of the builder, on the sample
    **dict.fromkeys(
        ["pipeline", "pipeline_config", "transforms", "grain_loader", "evaluation", "drawing"]
        + ["skeleton", "errors", "submission"],
        "moved",  # `mpii_pose.pipeline` is `mpii_pose.training.tf_pipeline`, and so on
    ),
    **{folder: folder for folder in FOLDERS},
}
# What each layer may import besides itself.
MAY_IMPORT: dict[str, set[str]] = {
    "base": set(),
    "sources": {"base"},
    "shards": {"base", "sources"},
    "engines": {"base", "sources", "shards"},
    "builder": {"base", "sources", "shards", "engines"},
    "training": {"base", "sources"},
    "benchmark": {"base", "sources", "training"},
    "cli": {"base", "sources", "shards", "engines", "builder", "training", "benchmark"},
    "moved": {"base", "training", "benchmark"},
    "sample": {"base", "sources", "shards", "engines", "builder", "training", "benchmark"},
    "tests": {"base", "sources", "shards", "engines", "builder", "training", "benchmark"}
    | {"sample"},
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
    module = tmp_path / "plan.py"
    module.write_text("from mpii_pose.engines.choice import WRITERS\nimport mpii_pose.sample\n")
    assert imported(module) == {"engines.choice", "sample"}
    assert layer("engines.choice") not in MAY_IMPORT[layer("shards.plan")]
    assert layer("sample.generator") not in MAY_IMPORT[layer("shards.person_example")]


def test_every_module_is_in_a_layer_folder():
    """Only the TFDS dataset folder's own modules and the kept old paths sit at the top."""
    top = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert top <= {
        name for name, layer in LAYER_OF.items() if layer in ("builder", "tests", "moved")
    }
