"""Examples/s, CPU per example and memory of every way to read mpii_pose for training, on the same
synthetic build.

    python benchmarks/bench_read.py [--images N] [--examples K] [--repeat R] [--quick]

Builds N synthetic images twice (`mpii-pose build`, tfrecord and array_record: the same
examples), then runs each contender in a fresh process, alternating them round by round, and
measures the process tree (workers included) as bench_shards.py does. A contender reads K
examples of the train split, raw, decoded only, or transformed into training crops and heatmaps
(HRNet augmentation, 256 px), with the transform's fast path or its reference path
(`PipelineConfig(reference_path=True)`: the whole image decoded, made float and warped):

- `tfds.load`: decoded examples, shuffled and batched by tf.data over TFRecord;
- `tf.decode`: the decode floor of the pipeline: JPEG bytes (`SkipDecoding`), shuffled, each
  image decoded by `tf.io.decode_jpeg` in a parallel map, nothing else;
- `tfds.load+pipeline`, `tfds.load+pipeline/reference`: `input_pipeline` over JPEG bytes;
- `data_source`: examples of `tfds.data_source` over ArrayRecord as TFDS decodes them, one
  process, random access in shuffled order;
- `pillow.decode`: the decode floor of the numpy transform: JPEG bytes from the data source,
  decoded by Pillow, nothing else;
- `data_source+transforms`, `data_source+transforms/reference`: `transforms.transform_example`
  of JPEG bytes from the data source, one process;
- `grain`, `grain+transforms`, `grain+transforms/reference`: Grain's DataLoader over the data
  source, 2 worker processes (`grain_loader.data_loader` for the transformed ones, over JPEG
  bytes).

Rates and CPU per example are of the reading loop (after the first batch; CPU of the whole
process tree); wall time includes start-up. Results: benchmarks/results/read-N.{json,md}.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_shards import BIN, ENV, machine, measure, versions  # noqa: E402
from make_synthetic import make_synthetic  # noqa: E402

BATCH = 32
CONTENDERS = (
    "tfds.load",
    "tf.decode",
    "tfds.load+pipeline",
    "tfds.load+pipeline/reference",
    "data_source",
    "pillow.decode",
    "data_source+transforms",
    "data_source+transforms/reference",
    "grain",
    "grain+transforms",
    "grain+transforms/reference",
)
REFERENCE = "/reference"  # the contender runs the transform's reference path


@dataclasses.dataclass
class Run:
    contender: str
    round: int
    status: str
    examples: int
    loop_s: float
    loop_cpu_s: float
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    peak_pss_mb: float


def prepare(work: Path, images: int) -> Path:
    """The data dir holding both builds of `images` synthetic images, made once and reused."""
    data_dir = work / f"read-{images}"
    if not (data_dir / "done").exists():
        shutil.rmtree(data_dir, ignore_errors=True)
        manual = work / f"read-{images}-manual"
        if not (manual / "valid.json").exists():
            make_synthetic(manual, images)
        for file_format in ("tfrecord", "array_record"):
            subprocess.run(
                [BIN / "mpii-pose", "build", "--manual_dir", manual, "--quiet",
                 "--data_dir", data_dir / file_format, "--file_format", file_format],
                check=True, env=ENV,
            )  # fmt: skip
        (data_dir / "done").touch()
    return data_dir


def _steps(name: str, data_dir: Path, seed: int) -> Iterator[int]:
    """The contender's reading loop, endlessly: yields how many examples each step read."""
    import tensorflow_datasets as tfds

    import mpii_pose  # noqa: F401
    from mpii_pose.training.config import PipelineConfig

    config = PipelineConfig(reference_path=name.endswith(REFERENCE))
    jpeg = {"image": tfds.decode.SkipDecoding()}
    if name.startswith("tf"):
        import tensorflow as tf

        from mpii_pose.training.tf_pipeline import input_pipeline

        ds = tfds.load("mpii_pose", data_dir=str(data_dir / "tfrecord"), split="train",
                       shuffle_files=True, decoders=None if name == "tfds.load" else jpeg)  # fmt: skip
        ds = ds.repeat()
        if name.startswith("tfds.load+pipeline"):
            ds = input_pipeline(ds, config, True, BATCH, seed=seed)
        elif name == "tf.decode":  # shuffled as input_pipeline shuffles, then decoded only
            ds = ds.shuffle(1000, seed=seed).map(
                lambda example: tf.io.decode_jpeg(example["image"], channels=3)[0, 0],
                num_parallel_calls=tf.data.AUTOTUNE,
            )
            ds = ds.batch(BATCH).prefetch(tf.data.AUTOTUNE)
        else:  # a small buffer: decoded 1280x720 images take 2.7 MB each
            ds = ds.shuffle(4 * BATCH, seed=seed).batch(BATCH).prefetch(tf.data.AUTOTUNE)
        for _ in tfds.as_numpy(ds):
            yield BATCH
        return
    decoders = None if name in ("data_source", "grain") else jpeg
    source = tfds.data_source("mpii_pose", data_dir=str(data_dir / "array_record"),
                              split="train", decoders=decoders)  # fmt: skip
    if name.startswith("grain"):
        import grain.python as grain

        from mpii_pose.training.grain_loader import data_loader, reading_ahead

        if "transforms" in name:
            loader = data_loader(source, config, training=True, batch_size=BATCH, seed=seed,
                                 num_epochs=None)  # fmt: skip
        else:
            sampler = grain.IndexSampler(len(source), grain.NoSharding(), shuffle=True, seed=seed)
            loader = grain.DataLoader(data_source=source, sampler=sampler, worker_count=2,
                                      operations=[grain.Batch(BATCH)],
                                      read_options=reading_ahead(BATCH))  # fmt: skip
        for batch in loader:
            yield len(batch["image"])
        return
    import io

    import numpy as np
    from PIL import Image

    from mpii_pose.training.numpy_transforms import sample_augmentation, transform_example

    rng = np.random.default_rng(seed)
    while True:
        for index in rng.permutation(len(source)):
            example = source[int(index)]
            if name == "pillow.decode":
                with Image.open(io.BytesIO(example["image"])) as image:
                    image.load()
            elif "transforms" in name:
                transform_example(example, config, sample_augmentation(rng, config))
            yield 1


def _tree_cpu_s() -> float:
    """CPU seconds of this process and its live children (Grain's workers)."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for process in [me, *me.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def child(name: str, data_dir: Path, examples: int) -> None:
    """Reads `examples` examples with contender `name`; prints the count and the loop's seconds
    and CPU seconds."""
    steps = _steps(name, data_dir, seed=0)
    next(steps)  # start-up (workers, graph) is not the loop's
    start, cpu, count = time.perf_counter(), _tree_cpu_s(), 0
    while count < examples:
        count += next(steps)
    loop_s, loop_cpu_s = time.perf_counter() - start, _tree_cpu_s() - cpu
    print(json.dumps({"examples": count, "loop_s": loop_s, "loop_cpu_s": loop_cpu_s}), flush=True)
    steps.close()  # Grain's workers and shared memory end with its iterator


def run_all(args: argparse.Namespace) -> dict:
    data_dir = prepare(args.work, args.images)
    runs: list[Run] = []
    for round_ in range(args.repeat):
        for name in args.contenders if round_ % 2 == 0 else reversed(args.contenders):
            command = [sys.executable, __file__, "--child", name, "--data_dir", data_dir,
                       "--examples", str(args.examples)]  # fmt: skip
            result, status = measure(command, args.work / "none", args.timeout, 16000)
            stdout = result.pop("stdout").strip().splitlines()
            reading = json.loads(stdout[-1]) if status == "ok" and stdout else {}
            result.pop("output_mb")
            runs.append(Run(name, round_, status, reading.get("examples", 0),
                            reading.get("loop_s", 0.0), reading.get("loop_cpu_s", 0.0),
                            **result))  # fmt: skip
            if not args.quiet:
                print(f"{name:<24} {status:<10.60} {runs[-1].examples / max(runs[-1].loop_s, 1e-9):8.0f} "
                      f"examples/s {runs[-1].peak_pss_mb:7.0f} MB PSS", flush=True)  # fmt: skip
    return {"machine": machine(), "versions": versions(), "command": " ".join(sys.argv),
            "settings": {k: str(v) for k, v in vars(args).items()},
            "runs": [dataclasses.asdict(r) for r in runs]}  # fmt: skip


# A transformed contender's reference path and decode floor, for the ratios of CPU per example.
COMPARED = {
    "tfds.load+pipeline": ("tfds.load+pipeline/reference", "tf.decode"),
    "data_source+transforms": ("data_source+transforms/reference", "pillow.decode"),
    "grain+transforms": ("grain+transforms/reference", "pillow.decode"),
}


def _median(runs: list[dict], name: str, value: Callable[[dict], float]) -> float | None:
    """The median of `value` over the contender's successful runs, or None."""
    values = [value(r) for r in runs if r["contender"] == name and r["status"] == "ok"]
    return statistics.median(values) if values else None


def _rate(run: dict) -> float:
    return run["examples"] / max(run["loop_s"], 1e-9)


def _cpu_ms(run: dict) -> float:
    return 1000 * run["loop_cpu_s"] / max(run["examples"], 1)


def ratios(result: dict) -> dict[str, float | None]:
    """CPU per example of each transformed contender over its reference path's and over its
    decode floor's; Grain's transformed rate over tfds.load+pipeline's (medians of the run)."""
    runs = result["runs"]
    found: dict[str, float | None] = {}
    for name, (reference, floor) in COMPARED.items():
        cpu, ref, dec = (_median(runs, n, _cpu_ms) for n in (name, reference, floor))
        found[f"{name} CPU / reference"] = cpu / ref if cpu and ref else None
        found[f"{name} CPU / decode floor"] = cpu / dec if cpu and dec else None
    grain, pipeline = (_median(runs, n, _rate) for n in ("grain+transforms", "tfds.load+pipeline"))
    found["grain+transforms rate / tfds.load+pipeline rate"] = (
        grain / pipeline if grain and pipeline else None
    )
    return found


def markdown(result: dict) -> str:
    lines = [f"Command: `{result['command']}`\n", "| contender | examples/s (min-max) | CPU ms per "
             "example | wall s | CPU s | peak PSS MB | peak RSS MB |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name in CONTENDERS:
        runs = [r for r in result["runs"] if r["contender"] == name]
        ok = [r for r in runs if r["status"] == "ok"]
        if not runs:
            continue
        if not ok:
            lines.append(f"| {name} | **{runs[-1]['status']}** | | | | | |")
            continue
        rates = [_rate(r) for r in ok]
        wall, cpu = (statistics.median(r[key] for r in ok) for key in ("wall_s", "cpu_s"))
        lines.append(
            f"| {name} | {statistics.median(rates):.0f} ({min(rates):.0f}-{max(rates):.0f}) | "
            f"{statistics.median(_cpu_ms(r) for r in ok):.2f} | {wall:.1f} | {cpu:.1f} | "
            f"{max(r['peak_pss_mb'] for r in ok):.0f} | {max(r['peak_rss_mb'] for r in ok):.0f} |"
        )
    lines += ["", "| ratio (medians) | value |", "|---|---|"]
    lines += [f"| {k} | {'-' if v is None else f'{v:.2f}'} |" for k, v in ratios(result).items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--examples", type=int, default=640, help="examples each run reads")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "mpii_pose_bench"
    )
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--contenders", nargs="+", choices=CONTENDERS, default=list(CONTENDERS))
    parser.add_argument("--quick", action="store_true", help="smoke test: 12 images, 1 round")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--data_dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.data_dir, args.examples)
        return
    if args.quick:
        args.images, args.examples, args.repeat = 12, 64, 1
    args.work.mkdir(parents=True, exist_ok=True)
    result = run_all(args)
    args.results.mkdir(parents=True, exist_ok=True)
    stem = args.results / f"read-{args.images}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1))
    stem.with_suffix(".md").write_text(markdown(result))
    print(stem.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
