"""Ray's fixed cost, part by part: what a build on Ray waits for before and after its shard writes.

    python benchmarks/bench_ray_startup.py [--repeat 5]
    python benchmarks/bench_ray_startup.py --kernel MANUAL_DIR [--persons 3000]

Each run is a fresh process, alternating the variants: `plain` is what a Ray user writes
(`ray.init(num_cpus=2)`, `ray.shutdown()`), `engine` is the Ray engine's `started()` (its
settings, its shutdown). Parts: `import ray`; starting (or joining) Ray; the first task on each
worker; importing the shard writer in a worker; shutting down. Medians in seconds.

`--kernel` writes the same train shards (the first `--persons` persons of MANUAL_DIR) in this
process and in one warmed-up Ray worker, alternately, and prints each one's user and system CPU
and page faults, as the writing process counts them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

WORKERS = 2
VARIANTS = ("plain", "engine")
PARTS = ("import_ray", "start", "first_tasks", "worker_import", "shutdown", "total")


def _import_writer() -> float:
    """In a worker: seconds to import the shard writer."""
    start = time.perf_counter()
    import mpii_pose.shards.write  # noqa: F401

    return time.perf_counter() - start


def _pid() -> int:
    import os

    time.sleep(0.05)  # keeps a worker busy so that the next task goes to the other one
    return os.getpid()


def child(variant: str) -> dict[str, float]:
    """One run of `variant` in this process; seconds per part."""
    times: dict[str, float] = {}
    if variant == "engine":  # as in a build, where the package is imported before Ray starts
        from mpii_pose.engines.ray_engine import RayEngine
    begin = start = time.perf_counter()
    import ray

    times["import_ray"] = time.perf_counter() - start
    start = time.perf_counter()
    if variant == "plain":
        ray.init(num_cpus=WORKERS)
        stop = ray.shutdown
    else:
        context = RayEngine(workers=WORKERS).started()
        context.__enter__()

        def stop() -> None:
            context.__exit__(None, None, None)

    times["start"] = time.perf_counter() - start
    start = time.perf_counter()
    pid = ray.remote(num_cpus=1)(_pid)
    assert len(set(ray.get([pid.remote() for _ in range(WORKERS)]))) >= 1
    times["first_tasks"] = time.perf_counter() - start
    start = time.perf_counter()
    ray.get([ray.remote(num_cpus=1)(_import_writer).remote() for _ in range(WORKERS)])
    times["worker_import"] = time.perf_counter() - start
    start = time.perf_counter()
    stop()
    times["shutdown"] = time.perf_counter() - start
    times["total"] = time.perf_counter() - begin
    return times


def _write_measured(tasks: list) -> dict[str, float]:
    """Writes `tasks`' shards in the calling process; its CPU seconds and page faults for it."""
    import resource

    from mpii_pose.shards.write import write_shard

    before = resource.getrusage(resource.RUSAGE_SELF)
    for task in tasks:
        write_shard(task)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "user_s": after.ru_utime - before.ru_utime,
        "sys_s": after.ru_stime - before.ru_stime,
        "minor_faults": after.ru_minflt - before.ru_minflt,
    }


def kernel(manual_dir: str, persons: int, repeat: int) -> None:
    """The same shard writes in this process and in a Ray worker, alternately."""
    import shutil
    import tempfile
    from pathlib import Path

    import ray

    from mpii_pose.shards.plan import plan_split, shard_tasks
    from mpii_pose.sources.assembly import load_sources

    plan = plan_split(load_sources(manual_dir)["train"], "per_person", persons)
    out = Path(tempfile.mkdtemp(prefix="ray_kernel_"))
    paths = [str(out / f"shard-{i}") for i in range(len(plan.shard_lengths))]
    tasks = shard_tasks(plan, paths, str(out / "converted"))
    ray.init(num_cpus=1, include_dashboard=False, logging_level="ERROR")
    remote = ray.remote(num_cpus=1)(_write_measured)
    ray.get(remote.remote(tasks[:1]))  # the worker's imports, not counted
    _write_measured(tasks[:1])
    try:
        for _ in range(repeat):
            for where, measured in (
                ("driver", lambda: _write_measured(tasks)),
                ("worker", lambda: ray.get(remote.remote(tasks))),
            ):
                numbers = measured()
                print(f"{where}: {persons} persons, " + ", ".join(
                    f"{k} {v:.2f}" if k.endswith("_s") else f"{k} {v:.0f}"
                    for k, v in numbers.items()))  # fmt: skip
    finally:
        ray.shutdown()
        shutil.rmtree(out, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--kernel", metavar="MANUAL_DIR")
    parser.add_argument("--persons", type=int, default=3000)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return
    if args.kernel:
        kernel(args.kernel, args.persons, min(args.repeat, 3))
        return
    runs: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
    for round_ in range(args.repeat):
        for variant in VARIANTS if round_ % 2 == 0 else reversed(VARIANTS):
            out = subprocess.run(
                [sys.executable, __file__, "--child", variant],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            runs[variant].append(json.loads(out.strip().splitlines()[-1]))
    print(f"Medians of {args.repeat} runs, seconds ({WORKERS} workers):\n")
    print("| variant | " + " | ".join(PARTS) + " |")
    print("|---" * (len(PARTS) + 1) + "|")
    for variant, results in runs.items():
        medians = [statistics.median(r[part] for r in results) for part in PARTS]
        print(f"| {variant} | " + " | ".join(f"{m:.2f}" for m in medians) + " |")


if __name__ == "__main__":
    main()
