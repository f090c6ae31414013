"""Examples/s and memory of every way to read mpii_pose for training, on the same synthetic build.

    python benchmarks/bench_read.py [--images N] [--examples K] [--repeat R] [--quick]

Builds N synthetic images twice (`mpii-pose build`, tfrecord and array_record: the same
examples), then runs each contender in a fresh process, alternating them round by round, and
measures the process tree (workers included) as bench_shards.py does. A contender reads K
examples of the train split, raw (decoded) or transformed into training crops and heatmaps
(HRNet augmentation, 256 px):

- `tfds.load`, `tfds.load+pipeline`: `tfds.load` over TFRecord (tf.data), with
  `mpii_pose.training.tf_pipeline.input_pipeline` for the transformed one;
- `data_source`, `data_source+transforms`: `tfds.data_source` over ArrayRecord, random access
  in shuffled order, one process, `mpii_pose.training.numpy_transforms` for the transformed one;
- `grain`, `grain+transforms`: Grain's DataLoader over the same data source, 2 worker processes,
  `mpii_pose.training.grain_loader` for the transformed one.

Rates are of the reading loop (after the first batch); wall time includes start-up. Results:
benchmarks/results/read-N.{json,md}.
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_shards import BIN, ENV, machine, measure, versions  # noqa: E402
from make_synthetic import make_synthetic  # noqa: E402

BATCH = 32
CONTENDERS = (
    "tfds.load",
    "tfds.load+pipeline",
    "data_source",
    "data_source+transforms",
    "grain",
    "grain+transforms",
)


@dataclasses.dataclass
class Run:
    contender: str
    round: int
    status: str
    examples: int
    loop_s: float
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


def _batches(name: str, data_dir: Path, seed: int):
    """The contender's batches (or examples), endlessly."""
    import tensorflow_datasets as tfds

    import mpii_pose  # noqa: F401

    if name.startswith("tfds.load"):
        import tensorflow as tf

        from mpii_pose.training.tf_pipeline import PipelineConfig, input_pipeline

        skip = {"image": tfds.decode.SkipDecoding()} if "pipeline" in name else None
        ds = tfds.load("mpii_pose", data_dir=str(data_dir / "tfrecord"), split="train",
                       shuffle_files=True, decoders=skip).repeat()  # fmt: skip
        if "pipeline" in name:
            ds = input_pipeline(ds, PipelineConfig(), True, BATCH, seed=seed)
        else:
            # A small buffer: decoded 1280x720 images take 2.7 MB each.
            ds = ds.shuffle(4 * BATCH, seed=seed).batch(BATCH).prefetch(tf.data.AUTOTUNE)
        yield from tfds.as_numpy(ds)
        return
    source = tfds.data_source("mpii_pose", data_dir=str(data_dir / "array_record"), split="train")
    if name.startswith("grain"):
        import grain.python as grain

        from mpii_pose.training.config import PipelineConfig
        from mpii_pose.training.grain_loader import data_loader, reading_ahead

        if "transforms" in name:
            yield from data_loader(source, PipelineConfig(), training=True, batch_size=BATCH,
                                   seed=seed, num_epochs=None)  # fmt: skip
        else:
            sampler = grain.IndexSampler(len(source), grain.NoSharding(), shuffle=True, seed=seed)
            yield from grain.DataLoader(data_source=source, sampler=sampler, worker_count=2,
                                        operations=[grain.Batch(BATCH)],
                                        read_options=reading_ahead(BATCH))  # fmt: skip
        return
    import numpy as np

    from mpii_pose.training.config import PipelineConfig
    from mpii_pose.training.numpy_transforms import sample_augmentation, transform_example

    rng, config = np.random.default_rng(seed), PipelineConfig()
    while True:
        for index in rng.permutation(len(source)):
            example = source[int(index)]
            if "transforms" in name:
                example = transform_example(example, config, sample_augmentation(rng, config))
            yield example


def child(name: str, data_dir: Path, examples: int) -> None:
    """Reads `examples` examples with contender `name`; prints the count and the loop's seconds."""
    batches = _batches(name, data_dir, seed=0)
    first = next(batches)  # start-up (workers, graph) is not the loop's
    per_item = len(first["image"]) if isinstance(first, dict) and first["image"].ndim == 4 else 1
    start, count = time.perf_counter(), 0
    while count < examples:
        next(batches)
        count += per_item
    print(json.dumps({"examples": count, "loop_s": time.perf_counter() - start}), flush=True)
    batches.close()  # Grain's workers and shared memory end with its iterator


def run_all(args: argparse.Namespace) -> dict:
    data_dir = prepare(args.work, args.images)
    runs: list[Run] = []
    for round_ in range(args.repeat):
        for name in CONTENDERS if round_ % 2 == 0 else reversed(CONTENDERS):
            command = [sys.executable, __file__, "--child", name, "--data_dir", data_dir,
                       "--examples", str(args.examples)]  # fmt: skip
            result, status = measure(command, args.work / "none", args.timeout, 16000)
            stdout = result.pop("stdout").strip().splitlines()
            reading = json.loads(stdout[-1]) if status == "ok" and stdout else {}
            result.pop("output_mb")
            runs.append(Run(name, round_, status, reading.get("examples", 0),
                            reading.get("loop_s", 0.0), **result))  # fmt: skip
            if not args.quiet:
                print(f"{name:<24} {status:<10.60} {runs[-1].examples / max(runs[-1].loop_s, 1e-9):8.0f} "
                      f"examples/s {runs[-1].peak_pss_mb:7.0f} MB PSS", flush=True)  # fmt: skip
    return {"machine": machine(), "versions": versions(), "command": " ".join(sys.argv),
            "settings": {k: str(v) for k, v in vars(args).items()},
            "runs": [dataclasses.asdict(r) for r in runs]}  # fmt: skip


def markdown(result: dict) -> str:
    lines = [f"Command: `{result['command']}`\n", "| contender | examples/s (min-max) | wall s | "
             "CPU s | peak PSS MB | peak RSS MB |", "|---|---|---|---|---|---|"]  # fmt: skip
    for name in CONTENDERS:
        runs = [r for r in result["runs"] if r["contender"] == name]
        ok = [r for r in runs if r["status"] == "ok"]
        if not ok:
            lines.append(f"| {name} | **{runs[-1]['status']}** | | | | |")
            continue
        rates = [r["examples"] / r["loop_s"] for r in ok]
        wall, cpu = (statistics.median(r[key] for r in ok) for key in ("wall_s", "cpu_s"))
        lines.append(
            f"| {name} | {statistics.median(rates):.0f} ({min(rates):.0f}-{max(rates):.0f}) | "
            f"{wall:.1f} | {cpu:.1f} | "
            f"{max(r['peak_pss_mb'] for r in ok):.0f} | {max(r['peak_rss_mb'] for r in ok):.0f} |"
        )
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
