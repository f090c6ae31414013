"""From the downloaded images archive to image files: what a user pays, in time and disk.

    python benchmarks/bench_extract.py --images N [--repeat R] [--contenders A,B] [--quick]

Packs N synthetic images as MPII's archive is packed (`tar czf`, the JPEGs under `images/`), then
extracts it with every contender, alternating their order run by run, each run as a whole process
tree: wall time (a `sync` of the written files included), CPU seconds of every process, and the
peak disk usage (allocated blocks) of the run's folder, archive included, sampled during the run.
Every run's output is checked: every image there, with the archive's bytes. `gunzip-null` only
decompresses (to /dev/null): the floor of any way to reach the images, reading straight out of
the archive included; `indexed-gzip` reads the images straight out of the archive through a seek
index (the `indexed_gzip` package: pip install indexed_gzip). Results: benchmarks/results/extract-N.{json,md}.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib.util
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_shards import _tree, chosen, machine  # noqa: E402
from make_synthetic import make_synthetic  # noqa: E402

ARCHIVE = "mpii_human_pose_v1.tar.gz"
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
# TFDS's download manager, as the build extracts a downloaded archive today (dl_manager.extract).
TFDS_EXTRACT = """
import sys, tensorflow_datasets as tfds
manager = tfds.download.DownloadManager(download_dir=sys.argv[2], extract_dir=sys.argv[3])
print(manager.extract(sys.argv[1]))
"""
OURS = """
import sys
from mpii_pose.sources import archive_extract
archive_extract.extract(sys.argv[1], sys.argv[2])
"""

# Reading the images straight out of the archive (no extraction): a seek index of the gzip stream
# (indexed_gzip, zran's checkpoints every 1 MiB) built in one pass, then every image read once in
# a shuffled order, as shard writers would read them (they read each once per person); the index
# is saved, as a build would keep it. The images' md5 go to sums.json, to be checked.
INDEXED = """
import hashlib, json, random, sys, tarfile, pathlib, indexed_gzip
out = pathlib.Path(sys.argv[2]); out.mkdir(parents=True)
with indexed_gzip.IndexedGzipFile(sys.argv[1], spacing=1 << 20) as f:
    f.build_full_index()
    f.export_index(str(out / "index.gzidx"))
    members = [(m.name, m.offset_data, m.size) for m in tarfile.open(fileobj=f, mode="r:")
               if m.isfile()]
    random.Random(0).shuffle(members)
    sums = {}
    for name, offset, size in members:
        f.seek(offset)
        sums[pathlib.PurePosixPath(name).name] = hashlib.md5(f.read(size)).hexdigest()
(out / "sums.json").write_text(json.dumps(sums))
"""

HAS_INDEXED_GZIP = importlib.util.find_spec("indexed_gzip") is not None  # the `bench` extra's

Command = Callable[[Path, Path], list]  # (archive, out_dir) -> the command that extracts


@dataclasses.dataclass
class Run:
    contender: str
    images: int
    archive_mb: float
    round: int
    status: str  # "ok", or why the run does not count
    wall_s: float
    cpu_s: float
    peak_disk_mb: float  # the run's folder, archive included
    files: int


def contenders() -> dict[str, Command]:
    """Name -> function(archive, out) giving the command that extracts the images under `out`."""
    py = sys.executable
    return {
        "gunzip-null": lambda a, o: ["sh", "-c", f"mkdir -p '{o}' && gzip -dc '{a}' > /dev/null"],
        "tar": lambda a, o: ["sh", "-c", f"mkdir -p '{o}' && tar xzf '{a}' -C '{o}'"],
        "tfds": lambda a, o: [py, "-c", TFDS_EXTRACT, a, o / "downloads", o / "extracted"],
        "ours": lambda a, o: [py, "-c", OURS, a, o / "images-extracted"],
        **({"indexed-gzip": lambda a, o: [py, "-c", INDEXED, a, o]} if HAS_INDEXED_GZIP else {}),
    }


def disk_usage(folder: Path) -> int:
    """Bytes allocated to the files under `folder` (what `du` counts)."""
    total = 0
    stack = [folder]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                else:
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
    return total


def measure(command: list, run_dir: Path, timeout: float) -> tuple[dict, str]:
    """Runs `command` then `sync`, sampling the tree's CPU and `run_dir`'s disk usage."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    log = tempfile.TemporaryFile("w+b")  # not a pipe: progress bars would fill it and block
    process = psutil.Popen([str(c) for c in command], stdout=subprocess.DEVNULL, stderr=log,
                           env=ENV)  # fmt: skip
    cpu_seen: dict[int, float] = {}
    peak = disk_usage(run_dir)
    status = "ok"
    while process.poll() is None:
        for p in _tree(process):
            try:
                times = p.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            cpu_seen[p.pid] = (
                times.user + times.system + times.children_user + times.children_system
            )
        peak = max(peak, disk_usage(run_dir))
        if time.perf_counter() - start > timeout:
            for p in reversed(_tree(process)):
                p.kill()
            status = "killed: timeout"
            break
        time.sleep(0.2)
    process.wait()
    log.seek(0)
    stderr = log.read().decode(errors="replace")
    log.close()
    os.sync()  # the written files on the disk, as a build that reads them next would have them
    wall = time.perf_counter() - start
    peak = max(peak, disk_usage(run_dir))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    waited = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if status == "ok" and process.returncode != 0:
        last = [line for line in stderr.splitlines() if line.strip()][-1:] or ["?"]
        status = f"failed: exit {process.returncode}: {last[0][:200]}"
    return {
        "wall_s": wall,
        "cpu_s": max(waited, sum(cpu_seen.values())),
        "peak_disk_mb": peak / 2**20,
    }, status


def pack(work: Path, images: int) -> tuple[Path, dict[str, str]]:
    """MPII-like archive of `images` synthetic JPEGs under `images/` (made once); returns it and
    each image's md5, by name."""
    folder = work / f"synthetic-{images}"
    archive = work / f"archive-{images}" / ARCHIVE
    if not archive.exists():
        if not (folder / "valid.json").exists():
            shutil.rmtree(folder, ignore_errors=True)
            make_synthetic(folder, images)
        archive.parent.mkdir(parents=True, exist_ok=True)
        partial = archive.with_name(archive.name + ".part")
        subprocess.run(["tar", "czf", partial, "-C", folder, "images"], check=True)
        partial.rename(archive)
        shutil.rmtree(folder)  # only the archive is needed from here on
    sums = {}
    with tarfile.open(archive, "r|gz") as tar:
        for member in tar:
            if member.isfile():
                data = tar.extractfile(member)
                assert data is not None
                sums[Path(member.name).name] = hashlib.md5(data.read()).hexdigest()
    return archive, sums


def check_output(name: str, out: Path, sums: dict[str, str]) -> str:
    """'ok' when every image is under `out` (in an `images/` folder) with the archive's bytes."""
    if name == "gunzip-null":
        return "ok"
    if name == "indexed-gzip":
        read = json.loads((out / "sums.json").read_text())
        return (
            "ok" if read == sums else f"{len(set(sums.items()) - set(read.items()))} images differ"
        )
    found = {p.name: p for p in out.rglob("*.jpg") if p.parent.name == "images"}
    missing = set(sums) - set(found)
    if missing:
        return f"lost {len(missing)} of {len(sums)} images"
    wrong = [n for n, s in sums.items() if hashlib.md5(found[n].read_bytes()).hexdigest() != s]
    return f"{len(wrong)} images differ" if wrong else "ok"


def run_one(name: str, command: Command, archive: Path, sums: dict[str, str], round_: int,
            args: argparse.Namespace) -> Run:  # fmt: skip
    """Extracts `archive` with one contender in a folder of the run's own (a hard link to the
    archive beside it, counted in its disk usage, as in D/downloads), checks, cleans up."""
    run_dir = args.work / "runs" / name
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    linked = run_dir / ARCHIVE
    os.link(archive, linked)
    result, status = measure(command(linked, run_dir / "out"), run_dir, args.timeout)
    if status == "ok":
        status = check_output(name, run_dir / "out", sums)
    shutil.rmtree(run_dir, ignore_errors=True)
    return Run(name, len(sums), archive.stat().st_size / 2**20, round_, status,
               files=len(sums), **result)  # fmt: skip


def run_all(args: argparse.Namespace) -> dict:
    table = contenders()
    table = chosen(table, args.contenders)
    archive, sums = pack(args.work, args.images)
    with open(archive, "rb") as f:  # in the page cache for every contender alike
        while f.read(1 << 20):
            pass
    runs = []
    for round_ in range(args.repeat):
        order = list(table) if round_ % 2 == 0 else list(reversed(table))
        for name in order:
            run = run_one(name, table[name], archive, sums, round_, args)
            runs.append(run)
            if not args.quiet:
                print(f"{name:<12} {run.status:<12.60} {run.wall_s:7.1f} s {run.cpu_s:7.1f} CPU s "
                      f"{run.peak_disk_mb:8.0f} MB disk", flush=True)  # fmt: skip
    return {"machine": machine(), "command": " ".join(sys.argv),
            "settings": {k: str(v) for k, v in vars(args).items()},
            "runs": [dataclasses.asdict(r) for r in runs]}  # fmt: skip


def summarise(result: dict) -> list[dict]:
    """Per contender: the medians of the counted runs, and the wall time over GNU tar's."""
    by_name: dict[str, list[dict]] = {}
    for run in result["runs"]:
        by_name.setdefault(run["contender"], []).append(run)
    ok = {n: [r for r in rs if r["status"] == "ok"] for n, rs in by_name.items()}
    tar = statistics.median(r["wall_s"] for r in ok["tar"]) if ok.get("tar") else None
    rows = []
    for name, rs in by_name.items():
        row = {"contender": name, "images": rs[0]["images"], "archive_mb": rs[0]["archive_mb"],
               "runs": len(rs)}  # fmt: skip
        if not ok[name]:
            rows.append({**row, "status": rs[-1]["status"]})
            continue
        wall = statistics.median(r["wall_s"] for r in ok[name])
        rows.append({**row, "status": "ok", "wall_s": wall,
                     "wall_min_s": min(r["wall_s"] for r in ok[name]),
                     "wall_max_s": max(r["wall_s"] for r in ok[name]),
                     "archive_mb_per_s": rs[0]["archive_mb"] / wall,
                     "cpu_s": statistics.median(r["cpu_s"] for r in ok[name]),
                     "peak_disk_mb": max(r["peak_disk_mb"] for r in ok[name]),
                     "vs_tar": wall / tar if tar else None})  # fmt: skip
    return rows


def markdown(result: dict, rows: list[dict]) -> str:
    head = ("| images | archive MB | contender | wall s (min-max) | archive MB/s | CPU s | "
            "peak disk MB | × tar |\n|" + "---|" * 8)  # fmt: skip
    lines = [head]
    for r in rows:
        start = f"| {r['images']} | {r['archive_mb']:.0f} | {r['contender']} |"
        if r["status"] != "ok":
            lines.append(f"{start} **{r['status']}** |" + " |" * 4)
            continue
        ratio = f"{r['vs_tar']:.2f}" if r["vs_tar"] is not None else "–"
        lines.append(f"{start} {r['wall_s']:.1f} ({r['wall_min_s']:.1f}-{r['wall_max_s']:.1f}) | "
                     f"{r['archive_mb_per_s']:.0f} | {r['cpu_s']:.1f} | {r['peak_disk_mb']:.0f} | "
                     f"{ratio} |")  # fmt: skip
    m = result["machine"]
    return (f"Command: `{result['command']}`\n\nMachine: {m['cpu']}, {m['cores']} cores, "
            f"{m['memory_gb']} GB; Python {m['python']}\n\n" + "\n".join(lines) + "\n")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000, help="images in the archive")
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender")
    parser.add_argument("--contenders", help="comma-separated subset (default: all)")
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "mpii_pose_bench"
    )
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds before a run is killed"
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: 6 images, 1 run")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    args.contenders = args.contenders.split(",") if args.contenders else None
    if args.quick:
        args.images, args.repeat = 6, 1
    args.work.mkdir(parents=True, exist_ok=True)
    result = run_all(args)
    rows = summarise(result)
    result["summary"] = rows
    args.results.mkdir(parents=True, exist_ok=True)
    stem = args.results / f"extract-{args.images}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1))
    stem.with_suffix(".md").write_text(markdown(result, rows))
    print(stem.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
