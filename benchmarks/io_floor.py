"""The I/O floor: read each image once per person and append its bytes to 72 files, one process.

No parsing beyond the JSON, no encoding, no framing: what any shard writer must at least spend.
Usage: python benchmarks/io_floor.py MANUAL_DIR OUT_DIR; prints the number of persons written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FILES = {"train.json": 64, "valid.json": 8}


def main(manual: Path, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for name, count in FILES.items():
        entries = json.loads((manual / name).read_text())
        files = [open(out / f"{name}-{i:05d}", "wb") for i in range(count)]  # noqa: SIM115
        try:
            for i, entry in enumerate(entries):
                files[i % count].write((manual / "images" / entry["image"]).read_bytes())
                written += 1
        finally:
            for f in files:
                f.close()
    return written


if __name__ == "__main__":
    print(main(Path(sys.argv[1]), Path(sys.argv[2])))
