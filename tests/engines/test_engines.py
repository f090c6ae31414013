"""Every engine writes the bytes of `tfds build`; failures leave nothing; losses are caught."""

import hashlib
import re
import shutil
import sys

import pytest
import ray
import tensorflow_datasets as tfds

import mpii_pose
from mpii_pose.base.errors import ImageError, IncompleteBuildError, MpiiPoseError
from mpii_pose.engines import EngineOptions, make_engine
from mpii_pose.engines.local_engine import LocalEngine
from mpii_pose.shards.image_bytes import is_stored_verbatim, to_rgb_jpeg
from mpii_pose.shards.plan import plan_split, shard_tasks
from mpii_pose.shards.write import write_shard
from mpii_pose.sources.assembly import load_sources
from tests.helpers import build, descendants, digests, leftovers, read_json, still_running

MULTI_PROCESS_BEAM = "direct_num_workers=2,direct_running_mode=multi_processing"


@pytest.fixture(scope="module")
def local_ray():
    """A real local Ray instance with 2 CPUs, shared by this module's tests; none of its processes
    outlives it."""
    before = descendants()
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown(wait_for_processes=True)
    assert still_running(before) == []


@pytest.mark.parametrize(
    "name, options, ran_on",
    [
        ("local", {}, "local"),
        pytest.param("ray", {}, "ray on local Ray, 2 CPUs", marks=pytest.mark.slow),
        pytest.param(
            "beam",
            {"beam_pipeline_options": MULTI_PROCESS_BEAM},
            "beam --direct_num_workers=2 --direct_running_mode=multi_processing "
            "--runner=DirectRunner",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_engine_output_is_byte_identical_to_tfds_build(
    name, options, ran_on, shard_data, reference, tmp_path, request
):
    """Ray and Beam are slow here: in the fast tier, the reruns of
    test_failed_shard_write_raises_the_workers_error_leaves_nothing_and_rerun_succeeds build the
    same bytes with them (Beam's DirectRunner in this process; its worker processes: slow)."""
    if name == "ray":
        request.getfixturevalue("local_ray")
    builder = build(shard_data, tmp_path, make_engine(name, EngineOptions(**options)))
    assert digests(tmp_path) == reference
    assert builder.info.splits["train"].num_shards == 64
    assert builder.info.splits["validation"].num_shards == 8
    assert builder.last_write.ran_on == ran_on  # what the engine's run says, for the summary


def test_the_autoscaler_monitor_is_stopped_before_shutdown_and_ray_still_works(local_ray):
    """The engine's shortcut through Ray's private node state finds the monitor it stops (a Ray
    upgrade that moves it fails here, not silently)."""
    from mpii_pose.engines.local_ray import stop_autoscaler_monitor

    node = ray._private.worker._global_node
    (monitor,) = node.all_processes[ray._private.ray_constants.PROCESS_TYPE_MONITOR]
    assert monitor.process.poll() is None
    stop_autoscaler_monitor(ray)
    assert monitor.process.poll() is not None
    assert ray.get(ray.remote(lambda: 1).remote()) == 1


def test_a_ray_release_that_moves_the_monitor_is_logged(monkeypatch, caplog):
    """Ray's private names, gone in some release: the shutdown goes on, and says so."""
    from mpii_pose.engines.local_ray import stop_autoscaler_monitor

    monkeypatch.delattr(ray._private.ray_constants, "PROCESS_TYPE_MONITOR")
    stop_autoscaler_monitor(ray)
    assert "keeps its autoscaler monitor elsewhere" in caplog.text


def test_ray_workers_never_import_tensorflow(local_ray, shard_data, tmp_path):
    """Each Ray task writes a shard of the plan, then says what its process imported (whichever
    worker ran it: no assumption that Ray reuses workers)."""
    plan = plan_split(load_sources(shard_data)["validation"], "per_person")
    paths = [str(tmp_path / f"shard-{i}") for i in range(len(plan.shard_lengths))]

    @ray.remote(num_cpus=1)
    def write_and_look(task) -> tuple[int, bool]:
        return write_shard(task), "tensorflow" in sys.modules

    seen = ray.get([write_and_look.remote(task) for task in shard_tasks(plan, paths)])
    assert sum(written for written, _ in seen) == len(plan.records)
    assert not any(imported for _, imported in seen)


@pytest.mark.parametrize(
    "engine_name, options",
    [
        ("ray", {}),
        ("beam", {}),
        pytest.param("beam", {"beam_pipeline_options": MULTI_PROCESS_BEAM}, marks=pytest.mark.slow),
    ],
    ids=["ray", "beam", "beam-multi-processing"],
)
def test_failed_shard_write_raises_the_workers_error_leaves_nothing_and_rerun_succeeds(
    engine_name, options, shard_data, reference, tmp_path, request
):
    """The error a worker raised, as it raised it: not Beam's copy with "[while running ...]"
    added, nor its RuntimeError holding another process's traceback."""
    if engine_name == "ray":
        request.getfixturevalue("local_ray")
    manual = shutil.copytree(shard_data, tmp_path / "manual")  # the session's data stays whole
    data_dir = tmp_path / "data"
    entries = read_json(manual / "valid.json")
    image = manual / "images" / entries[-1]["image"]
    kept = image.read_bytes()
    image.write_bytes(kept[: len(kept) // 2])  # truncated: found only when its shard is written
    with pytest.raises(ImageError) as info:
        build(manual, data_dir, make_engine(engine_name, EngineOptions(**options)))
    where = re.escape(f"{image} (used by {manual / 'valid.json'}, entry ")
    message = r"\d+\): cannot be decoded as an image \(image file is truncated[^\[\]]*\)"
    assert re.fullmatch(where + message, str(info.value)), str(info.value)
    assert leftovers(data_dir) == []
    image.write_bytes(kept)
    build(manual, data_dir, make_engine(engine_name))
    assert digests(data_dir) == reference


class DroppingEngine(LocalEngine):
    """Loses the last shard write without a word, as Beam's DirectRunner has been seen to do."""

    def run(self, tasks, progress):
        return super().run(tasks[:-1], progress)


class ShortWriteEngine(LocalEngine):
    """Writes every shard, then one of them again without its last example."""

    def run(self, tasks, progress):
        ran_on = super().run(tasks, progress)
        short = tasks[3]
        write_shard(type(short)(**{**short.__dict__, "records": short.records[:-1]}))
        return ran_on


@pytest.mark.parametrize(
    "engine, message",
    [
        (
            DroppingEngine(),
            r"split test: shard .*test.tfrecord-(\d{5})-of-\d{5} was not written",
        ),
        (
            ShortWriteEngine(),
            r"split train: shard .*train.tfrecord-00003-of-00064 holds \d+ examples, \d+ expected",
        ),
    ],
    ids=["lost-shard", "short-shard"],
)
def test_lost_or_short_writes_are_detected(engine, message, shard_data, tmp_path):
    with pytest.raises(IncompleteBuildError, match=message):
        build(shard_data, tmp_path, engine)
    assert leftovers(tmp_path) == []


def test_engines_refuse_formats_they_do_not_write(shard_data, tmp_path):
    builder = mpii_pose.Builder(
        data_dir=str(tmp_path), engine=make_engine("local"), file_format="parquet"
    )
    with pytest.raises(
        MpiiPoseError, match=r"the local engine \(requested\) writes tfrecord and array_record"
    ):
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=str(shard_data))
        )
    assert leftovers(tmp_path) == []


def test_an_image_that_must_be_converted_is_converted_once_per_build(
    shard_data, reference, tmp_path, monkeypatch
):
    """Not once per person: the first shard write that needs it shares the result."""
    import mpii_pose.shards.person_example as records_module  # where images are converted

    converted = []

    def counting(data):
        result = to_rgb_jpeg(data)
        if result is not data:
            converted.append(hashlib.sha256(data).hexdigest())
        return result

    monkeypatch.setattr(records_module, "to_rgb_jpeg", counting)
    persons = [e["image"] for name in ("train.json", "valid.json")
               for e in read_json(shard_data / name)]  # fmt: skip
    odd = {
        name
        for name in persons
        if not is_stored_verbatim((shard_data / "images" / name).read_bytes())
    }
    assert max(persons.count(name) for name in odd) > 1  # some converted image has several persons
    build(shard_data, tmp_path, LocalEngine())
    assert sorted(converted) == sorted(set(converted)) and len(converted) == len(odd)
    assert digests(tmp_path) == reference  # same bytes, and nothing of the sharing left behind
