"""Which engine a build runs: requested, by its options, $MPII_POSE_ENGINE, Beam options, or
automatic; and every entry point (tfds build, tfds.load, mpii-pose build) writes through it, with
the bytes of TFDS's own writer."""

import os

import pytest
import tensorflow_datasets as tfds
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions

from mpii_pose.base import settings
from mpii_pose.engines import EngineOptions, available_cpus, choice
from mpii_pose.engines.beam_engine import BeamEngine
from mpii_pose.engines.local_engine import LocalEngine
from mpii_pose.engines.ray_engine import RayEngine
from mpii_pose.engines.tfds_engine import TfdsEngine
from mpii_pose.sources.manual_dir import SAMPLE_DIR
from tests.helpers import BIN, ENV, checked, digests, read_json

LARGE = choice.RAY_MIN_EXAMPLES


def choose(
    engine=None, examples=100, file_format="tfrecord", environ=None, cpus=2, options=None, **beam
):
    return choice.choose(
        choice.Request.of(engine, options or EngineOptions()),
        settings.read(environ or {}),
        examples=examples,
        file_format=file_format,
        cpus=cpus,
        **beam,
    )


@pytest.mark.parametrize(
    "examples, cpus, name",
    [(LARGE, 4, "ray"), (LARGE * 3, 64, "ray"), (LARGE - 1, 64, "local"), (LARGE * 3, 3, "local")],
)
def test_automatic_choice_takes_ray_for_large_builds_on_four_cpus_or_more(examples, cpus, name):
    chosen = choose(examples=examples, cpus=cpus)
    assert chosen.engine.name == name
    assert chosen.reason.startswith(f"automatic: {examples:,} examples on {cpus} CPUs")


def test_cpus_are_those_the_process_may_use():
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})
    try:
        assert available_cpus() == 1
        assert "on 1 CPU;" in choose(cpus=None).reason
    finally:
        os.sched_setaffinity(0, allowed)


def test_the_environment_overrides_the_automatic_choice():
    chosen = choose(examples=LARGE, cpus=8, environ={"MPII_POSE_ENGINE": " Local "})
    assert isinstance(chosen.engine, LocalEngine)
    assert chosen.reason == "MPII_POSE_ENGINE=local"
    tfds_writer = choose(environ={"MPII_POSE_ENGINE": "tfds"}).engine
    assert isinstance(tfds_writer, TfdsEngine) and not tfds_writer.uses_beam
    ray_engine = choose(environ={"MPII_POSE_ENGINE": "ray", "RAY_ADDRESS": "10.0.0.5:6379"}).engine
    assert isinstance(ray_engine, RayEngine) and ray_engine.address == "10.0.0.5:6379"
    assert choose(environ={"MPII_POSE_ENGINE": "ray"}).engine.address is None  # a local Ray


def test_a_requested_engine_overrides_the_environment():
    given = RayEngine(workers=1)
    chosen = choose(given, environ={"MPII_POSE_ENGINE": "local"})
    assert chosen.engine is given and chosen.reason == "requested"
    assert choose("tfds", environ={"MPII_POSE_ENGINE": "local"}).engine.name == "tfds"


def test_an_engines_options_ask_for_it_and_are_refused_for_another():
    chosen = choose(options=EngineOptions(workers=3), environ={"MPII_POSE_ENGINE": "local"})
    assert isinstance(chosen.engine, RayEngine) and chosen.engine.workers == 3
    assert chosen.reason == "--workers 3 given"
    chosen = choose(options=EngineOptions(address="head:6379"), environ={"RAY_ADDRESS": "x:1"})
    assert chosen.engine.address == "head:6379"  # the option before the environment
    chosen = choose(options=EngineOptions(beam_pipeline_options="direct_num_workers=2"))
    assert isinstance(chosen.engine, BeamEngine)
    assert chosen.engine.options.view_as(DirectOptions).direct_num_workers == 2
    with pytest.raises(choice.EngineChoiceError, match=r"the local engine was asked for, with options of the ray engine \(--workers 2\)"):  # fmt: skip
        choose("local", options=EngineOptions(workers=2))
    # TFDS's writer takes Beam options: TFDS's Beam writer.
    assert choose("tfds", options=EngineOptions(beam_pipeline_options="a=1")).engine.uses_beam


def test_unknown_names_are_refused_with_the_choices():
    with pytest.raises(choice.EngineChoiceError, match=r"'rey' \(MPII_POSE_ENGINE=rey\); choose one of local, ray, beam, tfds"):  # fmt: skip
        choose(environ={"MPII_POSE_ENGINE": "rey"})
    with pytest.raises(choice.EngineChoiceError, match=r"'fast' \(requested\)"):
        choose("fast")


def test_beam_options_from_tfds_run_the_beam_engine_with_them():
    options = PipelineOptions(flags=["--direct_num_workers=2"])
    chosen = choose(beam_options=options)
    assert isinstance(chosen.engine, BeamEngine)
    assert chosen.engine.options.view_as(DirectOptions).direct_num_workers == 2
    assert chosen.reason == "Beam pipeline options given"
    # TFDS's writer, asked for, keeps TFDS's Beam writer.
    tfds_writer = choose(environ={"MPII_POSE_ENGINE": "tfds"}, beam_options=options).engine
    assert isinstance(tfds_writer, TfdsEngine) and tfds_writer.beam_options is options


def test_formats_the_engines_do_not_write_go_to_tfds_writer_unless_an_engine_is_asked_for():
    assert choose(examples=LARGE, cpus=8, file_format="array_record").engine.name == "ray"
    chosen = choose(examples=LARGE, cpus=8, file_format="parquet")
    assert isinstance(chosen.engine, TfdsEngine)
    assert "parquet shards are written by TFDS's writer" in chosen.reason
    with pytest.raises(choice.EngineChoiceError, match=r"the ray engine \(MPII_POSE_ENGINE=ray\) writes tfrecord and array_record"):  # fmt: skip
        choose(environ={"MPII_POSE_ENGINE": "ray"}, file_format="parquet")
    with pytest.raises(choice.EngineChoiceError, match="MPII_POSE_ENGINE=tfds"):
        choice.check_format(choice.Request.of("local"), settings.read({}), "parquet")


def test_tfds_load_builds_through_the_engines(shard_data, reference, tmp_path, caplog):
    caplog.set_level("INFO", logger="mpii_pose")
    config = tfds.download.DownloadConfig(manual_dir=str(shard_data))
    tfds.load(
        "mpii_pose",
        data_dir=str(tmp_path),
        split="validation",
        download_and_prepare_kwargs={"download_config": config},
    )
    assert digests(tmp_path) == reference
    examples = sum(
        len(read_json(shard_data / f)) for f in ("train.json", "valid.json", "test.json")
    )
    assert (
        f"Writing the shards with engine local (automatic: {examples} examples on " in caplog.text
    )


@pytest.mark.slow
def test_tfds_build_uses_the_engine_the_environment_names(shard_data, reference, tmp_path):
    env = {**ENV, "MPII_POSE_ENGINE": "ray", "RAY_ADDRESS": ""}
    result = checked([BIN / "tfds", "build", "mpii_pose/per_person", "--imports", "mpii_pose",
                      "--manual_dir", shard_data, "--data_dir", tmp_path], env=env)  # fmt: skip
    assert "with engine ray (MPII_POSE_ENGINE=ray)" in result.stdout + result.stderr
    assert digests(tmp_path) == reference


def test_the_cli_summary_says_which_engine_ran_and_why(tmp_path):
    result = checked([BIN / "mpii-pose", "build", "--sample", "--data_dir", tmp_path])
    examples = sum(
        len(read_json(SAMPLE_DIR / f)) for f in ("train.json", "valid.json", "test.json")
    )
    assert f"(engine: local; automatic: {examples} examples on " in result.stdout
    env = {**ENV, "MPII_POSE_ENGINE": "tfds"}
    result = checked(
        [BIN / "mpii-pose", "build", "--sample", "--data_dir", tmp_path / "b"], env=env
    )
    assert "(engine: tfds (TFDS's own writer); MPII_POSE_ENGINE=tfds)" in result.stdout
