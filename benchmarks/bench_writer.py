"""CPU per person of the shard writer against the I/O floor, in one process, on the same persons.

    python benchmarks/bench_writer.py [--images N] [--repeat R] [--work DIR]

Takes the train persons of a synthetic set (make_synthetic.py) whose images are stored verbatim
(3-channel JPEGs, no conversion), plans their 64 shards as a build does, and alternates R times:
the I/O floor (read each person's image, append its bytes to the shard's file) and
`shard_writer.write_shard` for every shard. Both write the same files' worth of bytes into the
same folder; inputs are in the page cache after the first round. Reports the median CPU time
(user + system of this process) per person of each, and their ratio.
Results: benchmarks/results/writer-N.{json,md}.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_synthetic import make_synthetic  # noqa: E402

from mpii_pose.shards.image_bytes import is_stored_verbatim  # noqa: E402
from mpii_pose.shards.plan import ShardTask, plan_split, shard_tasks  # noqa: E402
from mpii_pose.shards.write import write_shard  # noqa: E402
from mpii_pose.sources.assembly import load_sources  # noqa: E402


def verbatim_tasks(manual: Path, out: Path) -> list[ShardTask]:
    """The shard tasks of the train persons whose images are stored verbatim, writing into `out`."""
    source = load_sources(manual)["train"]
    verbatim = {
        name: is_stored_verbatim((source.images_dir / name).read_bytes())
        for name in {p.image for p in source.persons}
    }
    kept = tuple(p for p in source.persons if verbatim[p.image])
    plan = plan_split(dataclasses.replace(source, persons=kept), "per_person")
    return shard_tasks(plan, [str(out / f"shard-{i:05d}") for i in range(len(plan.shard_lengths))])


def io_floor(tasks: list[ShardTask]) -> None:
    """Each person's image read once and appended to its shard's file: no encoding, no framing."""
    for task in tasks:
        with open(task.path, "wb") as out:
            for person in task.records:
                out.write((Path(task.images_dir) / person.image).read_bytes())


def writer(tasks: list[ShardTask]) -> None:
    for task in tasks:
        write_shard(task)


def cpu_ms_per_person(run: Callable[[list[ShardTask]], None], tasks: list[ShardTask]) -> float:
    persons = sum(len(task.records) for task in tasks)
    before = time.process_time()  # user + system of this process, in ns resolution
    run(tasks)
    return (time.process_time() - before) * 1e3 / persons


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1500, help="synthetic images (default 1500)")
    parser.add_argument("--repeat", type=int, default=7, help="rounds of both (default 7)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mpii_pose_bench_writer"))
    parser.add_argument("--results", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    manual = args.work / f"synthetic-{args.images}"
    if not (manual / "train.json").exists():
        make_synthetic(manual, args.images)
    out = args.work / "out"
    out.mkdir(parents=True, exist_ok=True)
    tasks = verbatim_tasks(manual, out)
    contenders = {"io-floor": io_floor, "writer": writer}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for round_ in range(args.repeat):
        order = list(contenders) if round_ % 2 == 0 else list(reversed(contenders))
        for name in order:
            times[name].append(cpu_ms_per_person(contenders[name], tasks))
    medians = {name: statistics.median(values) for name, values in times.items()}
    result = {
        "command": " ".join(["python benchmarks/bench_writer.py", *(argv or sys.argv[1:])]),
        "date": time.strftime("%Y-%m-%d"),
        "persons": sum(len(task.records) for task in tasks),
        "cpu_ms_per_person": times,
        "median_cpu_ms_per_person": medians,
        "writer_over_floor": medians["writer"] / medians["io-floor"],
    }
    args.results.mkdir(parents=True, exist_ok=True)
    stem = args.results / f"writer-{args.images}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    table = (
        f"{result['persons']} persons with verbatim images, {args.repeat} alternated rounds, "
        "median CPU ms per person (user + system, one process):\n\n"
        "| io-floor | writer | writer / io-floor |\n|---|---|---|\n"
        f"| {medians['io-floor']:.3f} | {medians['writer']:.3f} | "
        f"{result['writer_over_floor']:.2f} |\n"
    )
    stem.with_suffix(".md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
