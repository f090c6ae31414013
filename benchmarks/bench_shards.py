"""Shard throughput of every way to build MPII shards, side by side, with the I/O floor.

    python benchmarks/bench_shards.py --images N [--workers 1,2] [--repeat R] [--contenders A,B] [--quick]

Builds synthetic MPII-like sets of N and 2N images (and 10, for start-up cost) with every contender,
alternating contenders run by run, and measures each run as a whole process tree (Ray's and Beam's
workers included): wall time, CPU seconds, peak RSS and PSS summed over the tree, and the size of
what it wrote. Every run's output is counted against the annotations (persons for the per_person
config, the images they are on for `*-per-image` contenders); a contender that lost examples is
marked, not timed. Results: benchmarks/results/shards-N.{json,md,png} (shards-N-configs.* when
per_image contenders ran).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_synthetic import MPII_ANNOTATED, MPII_IMAGES, make_synthetic  # noqa: E402

from mpii_pose.base.configs import PER_IMAGE, PER_PERSON  # noqa: E402
from mpii_pose.shards import tfrecord_files as tfrecord  # noqa: E402

BIN = Path(sys.executable).parent
BEAM_OPTIONS = "direct_num_workers=2,direct_running_mode=multi_processing"
# The alternatives our engines are compared against.
EXISTING = ("seed", "ray-data", "tfds", "tfds-beam")
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "RAY_USAGE_STATS_ENABLED": "0"}
SPLIT_FILES = ("train.json", "valid.json", "test.json")  # test.json: when the set has one
PER_IMAGE_SUFFIX = "-per-image"  # contenders that build the per_image config

Command = Callable[[Path, Path], list]  # (manual_dir, out_dir) -> the command that builds


@dataclasses.dataclass
class Run:
    contender: str
    images: int
    persons: int
    expected: int  # examples the build must write: `persons`, or their images for per_image
    round: int
    status: str  # "ok", or why the run does not count
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    peak_pss_mb: float
    output_mb: float
    examples: int


def contenders(workers: list[int]) -> dict[str, Command]:
    """Name -> function(manual_dir, out_dir) giving the command that builds the shards."""

    def tfds_build(config: str, *extra: str) -> Command:
        # TFDS's own writer: without MPII_POSE_ENGINE=tfds, `tfds build` would run our engines.
        return lambda m, o: ["env", "MPII_POSE_ENGINE=tfds", BIN / "tfds", "build", f"mpii_pose/{config}",
                             "--imports", "mpii_pose", "--manual_dir", m, "--data_dir", o, *extra]  # fmt: skip

    def ours(*extra: str, config: str = PER_PERSON) -> Command:
        return lambda m, o: [BIN / "mpii-pose", "build", "--config", config, "--manual_dir", m,
                             "--data_dir", o, "--quiet", *extra]  # fmt: skip

    def python(script: str, *extra: str) -> Command:
        return lambda m, o: [sys.executable, HERE / script, m, o, *extra]

    table = {
        "io-floor": python("io_floor.py"),
        "seed": python("seed_writer.py", "--workers", "2"),
        "ray-data": python("ray_data_writer.py", "--workers", "2"),
        "tfds": tfds_build(PER_PERSON),
        "tfds-beam": tfds_build(PER_PERSON, "--beam_pipeline_options", BEAM_OPTIONS),
        "local": ours("--engine", "local"),
    }
    for n in workers:
        table[f"ray-{n}"] = ours("--engine", "ray", "--workers", str(n))
    table["beam"] = ours("--engine", "beam", "--beam_pipeline_options", BEAM_OPTIONS)
    table["tfds" + PER_IMAGE_SUFFIX] = tfds_build(PER_IMAGE)
    table["local" + PER_IMAGE_SUFFIX] = ours("--engine", "local", config=PER_IMAGE)
    return table


def config_of(contender: str) -> str:
    """The dataset config a contender builds."""
    return PER_IMAGE if contender.endswith(PER_IMAGE_SUFFIX) else PER_PERSON


def expected_examples(manual: Path) -> dict[str, int]:
    """Examples a build of each config must write from `manual`: one per annotated person
    (per_person), one per distinct image with an annotated person (per_image)."""
    entries = [entry for name in SPLIT_FILES if (manual / name).exists()
               for entry in json.loads((manual / name).read_text())]  # fmt: skip
    return {PER_PERSON: len(entries), PER_IMAGE: len({entry["image"] for entry in entries})}


def count_output(name: str, out: Path, stdout: str) -> int:
    """Examples a contender wrote, read back from its files (the floor: its own count)."""
    if name == "io-floor":
        return int(stdout.split()[-1])
    return sum(tfrecord.count_records(p)[0] for p in out.rglob("*") if ".tfrecord" in p.name)


def _tree(process: psutil.Process) -> list[psutil.Process]:
    try:
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def measure(command: list, out: Path, timeout: float, memory_cap_mb: float) -> tuple[dict, str]:
    """Runs `command`, sampling its whole process tree; returns (measurements, status)."""
    logs = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = psutil.Popen([str(c) for c in command], stdout=logs[0], stderr=logs[1], env=ENV)
    cpu_seen: dict[int, float] = {}
    peak_rss = peak_pss = 0.0
    status = "ok"
    samples = 0
    while process.poll() is None:
        # RSS every 0.1 s is cheap; PSS reads smaps, which stalls a large process: once a second.
        with_pss = samples % 10 == 0 or samples in (2, 5)  # early samples for sub-second runs
        rss = pss = 0.0
        for p in _tree(process):
            try:
                rss += p.memory_info().rss
                pss += p.memory_full_info().pss if with_pss else 0
                times = p.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            cpu_seen[p.pid] = times.user + times.system
        peak_rss, peak_pss = max(peak_rss, rss / 2**20), max(peak_pss, pss / 2**20)
        elapsed = time.perf_counter() - start
        if peak_rss > memory_cap_mb or elapsed > timeout:
            status = (
                f"killed: memory > {memory_cap_mb:.0f} MB"
                if peak_rss > memory_cap_mb
                else "killed: timeout"
            )
            for p in reversed(_tree(process)):
                p.kill()
            process.wait()
            break
        samples += 1
        time.sleep(0.1)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    waited = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    logs[0].seek(0), logs[1].seek(0)
    stdout, stderr = logs[0].read(), logs[1].read()
    if status == "ok" and process.returncode != 0:
        last = [line for line in stderr.splitlines() if line.strip()][-1:] or ["?"]
        status = f"failed: exit {process.returncode}: {last[0][:200]}"
    output = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) if out.exists() else 0
    result = {
        "wall_s": wall,
        "cpu_s": max(waited, sum(cpu_seen.values())),
        "peak_rss_mb": peak_rss,
        "peak_pss_mb": peak_pss,
        "output_mb": output / 2**20,
        "stdout": stdout,
    }
    return result, status


def prepare(
    work: Path, images: int, largest: int, mpii: bool = False
) -> tuple[Path, dict[str, int]]:
    """A manual dir with the first `images` images of the largest set (with `mpii`, MPII's
    24,984 images of which those for 25,204 persons are annotated); returns it and the examples
    each config must have (`expected_examples`)."""
    full = work / ("synthetic-mpii" if mpii else f"synthetic-{largest}")
    if not (full / "valid.json").exists():
        shutil.rmtree(full, ignore_errors=True)
        make_synthetic(full, largest, annotated=MPII_ANNOTATED if mpii else None)
    if images == largest:
        target = full
    else:
        target = work / f"synthetic-{images}-of-{largest}"
        target.mkdir(parents=True, exist_ok=True)
        if not (target / "images").exists():
            (target / "images").symlink_to(full / "images")
        keep = {f"{i:09d}.jpg" for i in range(images)}
        for name in ("train.json", "valid.json"):
            entries = [e for e in json.loads((full / name).read_text()) if e["image"] in keep]
            (target / name).write_text(json.dumps(entries))
    return target, expected_examples(target)


def warm(manual: Path) -> None:
    """Reads every input once, so that the first contender also finds them in the page cache."""
    for path in sorted((manual / "images").iterdir()):
        with open(path, "rb") as f:
            while f.read(1 << 20):
                pass


def run_one(
    name: str,
    command: Command,
    manual: Path,
    images: int,
    persons: int,
    round_: int,
    args: argparse.Namespace,
    expected: int | None = None,
) -> Run:
    """Builds `manual` with one contender into a scratch folder, measures and counts the examples
    against `expected` (default: `persons`), cleans up."""
    expected = persons if expected is None else expected
    out = args.work / "out" / name
    shutil.rmtree(out, ignore_errors=True)
    result, status = measure(command(manual, out), out, args.timeout, args.memory_cap_mb)
    stdout = result.pop("stdout")
    examples = count_output(name, out, stdout) if status == "ok" else 0
    if status == "ok" and examples != expected:
        status = f"lost {expected - examples} of {expected} examples"
    shutil.rmtree(out, ignore_errors=True)
    return Run(name, images, persons, expected, round_, status, examples=examples, **result)


def chosen(table: dict, names: list[str] | None) -> dict:
    """The contenders of `table` that `names` name, in their order (all of them when None);
    an unknown name ends the run, listing the known ones."""
    if not names:
        return table
    unknown = set(names) - set(table)
    if unknown:
        raise SystemExit(
            f"unknown contenders: {', '.join(sorted(unknown))}; know {', '.join(table)}"
        )
    return {name: table[name] for name in names}


def run_all(args: argparse.Namespace) -> dict:
    table = contenders(args.workers)
    table = chosen(table, args.contenders)
    sizes = (
        [MPII_IMAGES]
        if args.mpii
        else ([10] if args.startup else [])
        + [args.images]
        + ([] if args.quick else [2 * args.images])
    )
    runs: list[Run] = []
    for images in sizes:
        manual, expected = prepare(args.work, images, max(sizes), args.mpii)
        warm(manual)
        given_up: set[str] = set()
        for round_ in range(args.repeat):
            order = list(table) if round_ % 2 == 0 else list(reversed(table))  # alternate
            for name in order:
                if name in given_up:
                    continue
                run = run_one(name, table[name], manual, images, expected[PER_PERSON], round_,
                              args, expected[config_of(name)])  # fmt: skip
                if run.status != "ok":
                    given_up.add(name)  # marked once; not run again at this size
                runs.append(run)
                if not args.quiet:
                    print(f"{images:>6} images  {name:<10} {run.status:<12.60} {run.wall_s:7.1f} s "
                          f"{run.peak_pss_mb:8.0f} MB PSS", flush=True)  # fmt: skip
    settings = {k: str(v) for k, v in vars(args).items()}
    return {"machine": machine(), "versions": versions(), "command": " ".join(sys.argv), "settings": settings,
            "sizes": sizes, "runs": [dataclasses.asdict(r) for r in runs]}  # fmt: skip


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())  # fmt: skip
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "platform": platform.platform()}  # fmt: skip


def versions() -> dict:
    names = (
        "mpii_pose",
        "tensorflow-datasets",
        "tensorflow",
        "ray",
        "apache-beam",
        "protobuf",
        "pillow",
    )
    return {name: metadata.version(name) for name in names}


def summarise(result: dict) -> list[dict]:
    """Per size and contender: median and spread of the counted runs, and the ratios."""
    rows = []
    for images in result["sizes"]:
        runs = [r for r in result["runs"] if r["images"] == images]
        by_name: dict[str, list[dict]] = {}
        for r in runs:
            by_name.setdefault(r["contender"], []).append(r)
        medians = {}
        for name, rs in by_name.items():
            ok = [r for r in rs if r["status"] == "ok"]
            if ok:
                medians[name] = statistics.median(r["wall_s"] for r in ok)
        existing = [medians[n] for n in EXISTING if n in medians]
        fastest = min(existing) if existing else None
        floor = medians.get("io-floor")
        for name, rs in by_name.items():
            ok = [r for r in rs if r["status"] == "ok"]
            row = {
                "images": images,
                "persons": rs[0]["persons"],
                "examples": rs[0].get("expected", rs[0]["persons"]),
                "contender": name,
                "runs": len(rs),
            }
            if not ok:
                row["status"] = rs[-1]["status"]
                rows.append(row)
                continue
            wall = medians[name]
            row.update(
                status="ok",
                wall_s=wall,
                wall_min_s=min(r["wall_s"] for r in ok),
                wall_max_s=max(r["wall_s"] for r in ok),
                persons_per_s=rs[0]["persons"] / wall,
                output_mb=statistics.median(r["output_mb"] for r in ok),
                output_mb_per_s=statistics.median(r["output_mb"] for r in ok) / wall,
                cpu_s=statistics.median(r["cpu_s"] for r in ok),
                peak_rss_mb=max(r["peak_rss_mb"] for r in ok),
                peak_pss_mb=max(r["peak_pss_mb"] for r in ok),
                vs_fastest_existing=wall / fastest if fastest else None,
                vs_io_floor=wall / floor if floor else None,
            )
            rows.append(row)
    return rows


def markdown(result: dict, rows: list[dict]) -> str:
    head = ("| images | persons | contender | examples | out MB | wall s (min-max) | persons/s | "
            "out MB/s | CPU s | peak PSS MB | peak RSS MB | × fastest existing | × I/O floor |\n|"
            + "---|" * 13)  # fmt: skip
    lines = [head]
    for r in rows:
        if r["status"] != "ok":
            lines.append(
                f"| {r['images']} | {r['persons']} | {r['contender']} | {r['examples']} | "
                f"**{r['status']}** |" + " |" * 8
            )
            continue
        ratio = lambda v: f"{v:.2f}" if v is not None else "–"  # noqa: E731
        lines.append(
            f"| {r['images']} | {r['persons']} | {r['contender']} | {r['examples']} | "
            f"{r['output_mb']:.0f} | {r['wall_s']:.1f} "
            f"({r['wall_min_s']:.1f}-{r['wall_max_s']:.1f}) | {r['persons_per_s']:.0f} | "
            f"{r['output_mb_per_s']:.0f} | {r['cpu_s']:.1f} | {r['peak_pss_mb']:.0f} | "
            f"{r['peak_rss_mb']:.0f} | {ratio(r['vs_fastest_existing'])} | {ratio(r['vs_io_floor'])} |"
        )
    m, v = result["machine"], result["versions"]
    return (
        f"Command: `{result['command']}`\n\n"
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; Python {m['python']}; "
        + ", ".join(f"{k} {val}" for k, val in v.items())
        + "\n\n"
        + "\n".join(lines)
        + "\n"
    )


def chart(rows: list[dict], path: Path) -> None:
    """Wall time and peak memory per contender, one bar per size: how each scales."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({r["images"] for r in rows})
    names = list(dict.fromkeys(r["contender"] for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    width = 0.8 / len(sizes)
    for k, images in enumerate(sizes):
        got = {r["contender"]: r for r in rows if r["images"] == images and r["status"] == "ok"}
        xs = [i + k * width for i in range(len(names))]
        for ax, key in zip(axes, ("wall_s", "peak_pss_mb"), strict=True):
            ax.bar(
                xs, [got[n][key] if n in got else 0 for n in names], width, label=f"{images} images"
            )
    for ax, title in zip(
        axes, ("wall time, s (log)", "peak memory of all processes, MB PSS (log)"), strict=True
    ):
        ax.set_xticks(
            [i + width * (len(sizes) - 1) / 2 for i in range(len(names))], names, rotation=30
        )
        ax.set_yscale("log")
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6250, help="size N; 2N is measured too")
    parser.add_argument("--workers", default="1,2", help="Ray worker counts to try (default: 1,2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender and size")
    parser.add_argument(
        "--contenders",
        help="comma-separated subset to run, e.g. io-floor,tfds,local (default: all)",
    )
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "mpii_pose_bench"
    )
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--timeout", type=float, default=600, help="seconds before a run is killed")
    parser.add_argument(
        "--memory_cap_mb", type=float, default=16000, help="tree RSS that kills a run"
    )
    parser.add_argument(
        "--no-startup", dest="startup", action="store_false", help="skip the 10-image runs"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 6 images, 1 run, no start-up size"
    )
    parser.add_argument(
        "--mpii",
        action="store_true",
        help="one size, MPII's: 24,984 images, those for ~25,200 persons annotated (the rest "
        "like MPII's test images); results in shards-mpii.*",
    )
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    args.workers = [int(w) for w in args.workers.split(",")]
    args.contenders = args.contenders.split(",") if args.contenders else None
    if args.quick:
        args.images, args.repeat, args.startup = 6, 1, False
    args.work.mkdir(parents=True, exist_ok=True)
    result = run_all(args)
    rows = summarise(result)
    result["summary"] = rows
    args.results.mkdir(parents=True, exist_ok=True)
    stem = args.results / ("shards-mpii" if args.mpii else f"shards-{args.images}")
    if any(config_of(run["contender"]) == PER_IMAGE for run in result["runs"]):
        stem = stem.with_name(stem.name + "-configs")  # beside the per_person-only results
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1))
    stem.with_suffix(".md").write_text(markdown(result, rows))
    chart(rows, stem.with_suffix(".png"))
    print(stem.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
