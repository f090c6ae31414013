"""How long the check before writing takes: `python benchmarks/bench_image_check.py MANUAL_DIR`.

Times `image_check.find_image_problems` over a manual directory's splits (each distinct image:
open, read its first bytes), warm (the files' first pages in the page cache) and, with `--cold`,
after evicting the images from the page cache (posix_fadvise DONTNEED on each file: only these
files, nothing else on the machine). `--threads N` also times the same per-image check run by N
threads, to see whether threads pay.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from etils import epath

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mpii_pose.sources.assembly import load_sources  # noqa: E402
from mpii_pose.sources.image_check import find_image_problems, image_problem  # noqa: E402


def evict(paths: list[Path]) -> None:
    """Drops the files' pages from the page cache, so that the next read goes to the disk."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fdatasync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def threaded(paths: list[epath.Path], threads: int) -> int:
    """The per-image check over `paths` with `threads` threads; returns the problems found."""
    with ThreadPoolExecutor(threads) as pool:
        return sum(problem is not None for problem in pool.map(image_problem, paths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manual_dir", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="evict the images before each run")
    parser.add_argument("--threads", type=int, default=0, help="also time N threads")
    args = parser.parse_args()
    sources = list(load_sources(args.manual_dir).values())
    distinct = sorted({source.images_dir / p.image for source in sources for p in source.persons})
    files = [Path(p) for p in distinct if Path(p).is_file()]  # the ones there, to evict
    persons = sum(len(source.persons) for source in sources)
    print(f"{len(distinct):,} distinct images, {persons:,} persons")
    variants = [("find_image_problems (one thread)", lambda: len(find_image_problems(sources)))]
    if args.threads:
        variants.append(
            (f"image_problem, {args.threads} threads", lambda: threaded(distinct, args.threads))
        )
    image_problem(distinct[0])  # Pillow loads its format plugins once, before the timing
    for name, run in variants:
        for _ in range(args.runs):
            if args.cold:
                evict(files)
            start = time.perf_counter()
            problems = run()
            seconds = time.perf_counter() - start
            state = "cold" if args.cold else "warm"
            print(f"{name}, {state}: {seconds:.2f} s, {problems} problems")


if __name__ == "__main__":
    main()
