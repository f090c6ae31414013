"""Every name this package takes from TFDS beyond its public API (`tfds.core`, `tfds.features`,
`tfds.download`), in one place, with why it is needed. Byte-identity with `tfds build` rests on
them: the shard order and boundaries, the writer's records, the file adapters.

They were checked with the TFDS releases `TFDS_RANGE` names, the range setup.cfg declares: the
whole suite runs with the newest, and CI runs the byte-identity tests again with the oldest.
TFDS 4.9.7 and earlier lack names used here (`ArrayRecordFileAdapter.num_examples`,
`DownloadConfig.nondeterministic_order`, `GenerateMode.overwrite_dataset`).
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported at once: the shard plan needs them in every worker, and they import no TensorFlow.
from tensorflow_datasets.core import hashing
from tensorflow_datasets.core.utils import shard_utils

# The oldest and newest TFDS release checked (setup.cfg: tensorflow-datasets>=oldest,<=newest).
TFDS_RANGE = ("4.9.8", "4.9.10")

# The shard plan orders a split's examples by TFDS's hash of their keys, salted with the split
# name, and cuts it where TFDS does: the same examples in the same shards as `tfds build`.
Hasher = hashing.Hasher
ShardConfig = shard_utils.ShardConfig
get_shard_boundaries = shard_utils.get_shard_boundaries

# Imported when first used (they bring in the rest of TFDS): name -> (module, attribute).
_WHEN_USED = {
    # TFDS's own writer (engine "tfds") through its split builder, with records serialized
    # deterministically by a subclass of its example writer.
    "SplitBuilder": ("tensorflow_datasets.core.split_builder", "SplitBuilder"),
    "ExampleWriter": ("tensorflow_datasets.core.writer", "ExampleWriter"),
    # Split metadata written into dataset_info.json for the shards an engine wrote.
    "SplitInfo": ("tensorflow_datasets.core.splits", "SplitInfo"),
    "SplitDict": ("tensorflow_datasets.core.splits", "SplitDict"),
    # Shard files counted through the adapter of their format (ArrayRecord: its record count).
    "FileFormat": ("tensorflow_datasets.core.file_adapters", "FileFormat"),
    "ADAPTER_FOR_FORMAT": ("tensorflow_datasets.core.file_adapters", "ADAPTER_FOR_FORMAT"),
    # checksums.tsv read per build (so that --register_checksums takes effect).
    "UrlInfo": ("tensorflow_datasets.core.download.checksums", "UrlInfo"),
    "load_url_infos": ("tensorflow_datasets.core.download.checksums", "load_url_infos"),
    # The download manager the builder is handed (for types).
    "DownloadManager": (
        "tensorflow_datasets.core.download.download_manager",
        "DownloadManager",
    ),
    "GenerateMode": ("tensorflow_datasets.core.download.util", "GenerateMode"),
    # A download fetched resumably (sources/resumable.py) is put where TFDS's download manager
    # looks for its own: named as it names them, with its .INFO record, hashed as it hashes.
    "get_dl_fname": ("tensorflow_datasets.core.download.resource", "get_dl_fname"),
    "is_locally_cached": ("tensorflow_datasets.core.download.resource", "is_locally_cached"),
    "write_info_file": ("tensorflow_datasets.core.download.resource", "write_info_file"),
    "get_info_path": ("tensorflow_datasets.core.download.resource", "get_info_path"),
    "read_url_info": ("tensorflow_datasets.core.download.downloader", "read_url_info"),
    "compute_url_info": ("tensorflow_datasets.core.download.checksums", "compute_url_info"),
    # TFDS reads url_infos and the checksums path as class properties; its progress bar.
    "classproperty": ("tensorflow_datasets.core.utils", "classproperty"),
    "tqdm": ("tensorflow_datasets.core.utils", "tqdm"),
}


def __getattr__(name: str) -> Any:
    """A name of `_WHEN_USED`, imported from TFDS on first use."""
    if name not in _WHEN_USED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _WHEN_USED[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def overwrites_dataset(mode: Any) -> bool:
    """Whether `download_mode` (a GenerateMode) rebuilds an existing build, as TFDS decides."""
    generate_mode = __getattr__("GenerateMode")
    return mode in (generate_mode.REUSE_CACHE_IF_EXISTS, generate_mode.FORCE_REDOWNLOAD)


def forces_download(dl_manager: Any) -> bool:
    """Whether the download manager downloads again what it holds (download_mode
    FORCE_REDOWNLOAD): then it ignores its cache, and a resumable download would be fetched twice."""
    return bool(dl_manager._force_download)


def record_download(dl_manager: Any, url: str, url_info: Any) -> None:
    """Counts `url` among the build's downloads (its `download_size` in dataset_info.json), as if
    the manager had fetched it: images extracted by an earlier build are used without their
    archive, which may be deleted (`downloads.fetch`), and the build records the same size."""
    dl_manager._recorded_url_infos[url] = url_info


def byte_bar(desc: str, total: int | None, initial: int = 0) -> Any:
    """TFDS's progress bar over bytes (rate and time left in KiB/MiB/GiB), hidden where TFDS's
    bars are (`tfds.disable_progress_bar()`, `--quiet`)."""
    bar = __getattr__("tqdm")
    return bar(
        total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc=desc
    )
