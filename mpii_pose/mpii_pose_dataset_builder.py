"""TFDS builder for MPII Human Pose, from the HRNet/mmpose JSON: one example per annotated person
(config per_person, the default) or per image (per_image)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterator
from typing import Any

import tensorflow_datasets as tfds
from etils import epath

from mpii_pose.base import (
    build_lock,
    disk_space,
    interruption,
    log_filters,
    settings,
    tfds_internals,
)
from mpii_pose.base.configs import CONFIGS, PER_IMAGE, UNITS
from mpii_pose.engines import NO_OPTIONS, Engine, EngineOptions, WriteJob, choice
from mpii_pose.shards import examples, space
from mpii_pose.shards.features import feature_spec
from mpii_pose.shards.plan import SplitPlan, plan_split
from mpii_pose.sources import assembly, build_record, downloads, image_check, manual_dir

_HOMEPAGE = "http://human-pose.mpi-inf.mpg.de/"
_LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class WriteReport:
    """How a build's shards were written, for its summary."""

    ran_on: str  # the engine and where it ran, e.g. "ray on local Ray, 2 CPUs"
    reason: str  # why that engine, e.g. "MPII_POSE_ENGINE=ray"
    seconds: float  # writing the shards, as the progress bar times it


class _with_settings:  # noqa: N801 (used as a decorator, as `property`)
    """A property of TFDS's that it reads from the builder class or a builder: computed from the
    builder's settings (read when it was made), or from the environment's on the class."""

    def __init__(self, compute: Callable[[settings.Settings], Any]):
        self._compute = compute
        self.__doc__ = compute.__doc__

    def __get__(self, builder: Builder | None, cls: type) -> Any:
        return self._compute(builder.settings if builder is not None else settings.read())


class Builder(tfds.core.GeneratorBasedBuilder):
    """MPII Human Pose, one example per annotated person (`per_person`) or per image with all its
    persons (`per_image`); splits `train`, `validation` and, with a test file, `test`.

    An engine writes the shard plan: the one given (`engine=`: an engine or its name, as
    `tfds.builder('mpii_pose', engine='ray')`), else the engine of the `engine_options` given,
    else `$MPII_POSE_ENGINE`, else Beam when TFDS has Beam options, else Ray for large builds on
    4 or more CPUs, else this process (see `engines.choice`). Engine "tfds" is TFDS's own writer
    (its Beam writer, given Beam options). Every choice writes the same bytes, and the shard
    files are counted against the annotations before TFDS commits the build. The environment
    (`base.settings`) is read once, when the builder is made.
    """

    VERSION = tfds.core.Version("3.0.0")
    RELEASE_NOTES = {
        "3.0.0": "Two configs: per_person (the examples of 2.1.0, byte for byte; the default) "
        "and per_image (one example per image, every person of it in `persons`, the official "
        ".mat's unannotated ones with annotated False; splits by image). Builds move to "
        "D/mpii_pose/CONFIG/VERSION.",
        "2.1.0": "New features: official_image_index and official_rect_index (1-based indices "
        "of the person's record in the official .mat's RELEASE.annolist and its annorect, -1 "
        "when unmatched) and single_person (RELEASE.single_person lists it), so that test "
        "predictions can be written in MPII's submission layout; test persons are matched by "
        "image, objpos and scale alone.",
        "2.0.1": "metadata.json records what the build was made from (the manual directory, "
        "each input file with its sha256, the per-split cap) and, per split, the persons of its "
        "annotation file and those written without a head box or official fields; examples "
        "unchanged.",
        "2.0.0": "joints, center, scale and head_box are float64 (stored as bytes), exactly the "
        "JSON's and the .mat's values, so that PCKh equals the official evaluation's "
        "(breaking: they were float32). A test split (32 shards) when the annotations include "
        "test.json or mpii_test.json: test persons without joints, for inference.",
        "1.1.0": "New features: head_box (x1, y1, x2, y2) for PCKh, from HRNet's gt_valid.mat "
        "or mmpose's mpii_gt_val.mat (validation) or the official .mat, else NaN; from the "
        "official .mat, is_visible (1 visible, 0 occluded, -1 unknown), activity, category, "
        "activity_id. Missing inputs are downloaded.",
        "1.0.0": "Initial release: one example per annotated person, 64 train / 8 validation "
        "shards, raw MATLAB 1-based joints, byte-reproducible shards.",
    }
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name=name, description=description)
        for name, description in CONFIGS.items()
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = downloads.manual_instructions()

    def __init__(
        self,
        *,
        engine: Engine | str | None = None,
        engine_options: EngineOptions = NO_OPTIONS,
        strict_official: bool | None = None,
        skip_space_check: bool | None = None,
        remove_archive: bool | None = None,
        **kwargs: Any,
    ):
        """`engine`, `engine_options`: see the class; `strict_official`: a problem in the
        official .mat is an error instead of a warning (default: $MPII_POSE_STRICT_OFFICIAL);
        `skip_space_check`: build even when the shards are estimated not to fit in the free
        space of the data dir's file system (default: $MPII_POSE_SKIP_SPACE_CHECK);
        `remove_archive`: delete the downloaded images archive once its images are extracted
        (default: $MPII_POSE_REMOVE_ARCHIVE, else kept)."""
        super().__init__(**kwargs)
        self.settings = settings.read()
        self.engine_request = choice.Request.of(engine, engine_options)
        self.strict_official = (
            self.settings.strict_official if strict_official is None else strict_official
        )
        self.skip_space_check = (
            self.settings.skip_space_check if skip_space_check is None else skip_space_check
        )
        self.remove_archive = (
            self.settings.remove_archive if remove_archive is None else remove_archive
        )
        self.last_write: WriteReport | None = None  # of the last build in this process
        # What the build under way needs where it writes (for the error of a full disk).
        self.space_need: disk_space.SpaceNeed | None = None
        # The lock of another build that finished this one while it waited, if one did.
        self.waited_for: build_lock.Lock | None = None
        self._cap_told = False  # whether reading a capped build was warned of

    def _log_download_bytes(self) -> None:
        """Not TFDS's "Downloading and preparing dataset Unknown size ...": sizes are unknown until
        the annotations are read, and what is downloaded is logged when it is."""

    def is_prepared(self) -> bool:
        """TFDS's check, without its warning that a build it was asked about does not exist."""
        return self.data_path.exists() and super().is_prepared()

    def download_and_prepare(
        self,
        *,
        download_dir: epath.PathLike | None = None,
        download_config: tfds.download.DownloadConfig | None = None,
        **kwargs: Any,
    ) -> None:
        """TFDS's download_and_prepare, one build of a data dir at a time; what killed runs left
        there (temporary build folders, partial downloads) is removed first, and a failed build
        removes the empty folders it made (D/mpii_pose, D/downloads and TFDS's folders in it).
        SIGTERM and SIGHUP clean up as Ctrl-C does, whatever the entry point (see
        `interruption`). A file system that fills during the build, whichever engine wrote, is a
        DiskSpaceError naming the build's folder (see `disk_space`)."""
        config = download_config or tfds.download.DownloadConfig()
        with interruption.cleaned_up_on_signals("the build"), contextlib.ExitStack() as stack:
            # Reading an existing build takes no lock, so that read-only storage works.
            if not tfds_internals.overwrites_dataset(config.download_mode) and self.is_prepared():
                self._warn_if_not_as_asked(config)
            elif not self._hold_data_dir(stack, download_dir, config):
                return  # another build finished it while this one waited
            self.space_need = disk_space.SpaceNeed(str(self.data_path), 0, None)
            try:
                super().download_and_prepare(
                    download_dir=download_dir, download_config=download_config, **kwargs
                )
            except Exception as err:  # TFDS has removed its temporary build folder by now
                if not disk_space.is_disk_full(err):  # not found full before writing either
                    raise
                raise disk_space.full_disk_error(self.space_need) from err

    def _hold_data_dir(
        self,
        stack: contextlib.ExitStack,
        download_dir: epath.PathLike | None,
        config: tfds.download.DownloadConfig,
    ) -> bool:
        """Takes the build lock for the rest of `stack` (waiting for another build), removes
        what killed runs left, and has what this build makes outside its own folder (empty
        folders, TFDS's config record) removed if it fails;
        False when the build waited for finished it."""
        downloads_dir = epath.Path(download_dir or self.data_dir_root / "downloads")
        extract_dir = epath.Path(config.extract_dir or downloads_dir / "extracted")
        # D/mpii_pose: the configs share it and the downloads, so one build at a time.
        dataset_dir = self.data_path.parent.parent
        made = build_lock.absent([self.data_path.parent, dataset_dir])  # the lock makes one
        # TFDS's record of the default config (D/mpii_pose/.config), written as a build starts.
        config_record = build_lock.absent([dataset_dir / ".config"])
        lock = stack.enter_context(build_lock.build_lock(dataset_dir))
        # Another build may have finished it while this one waited, or before it locked.
        if not tfds_internals.overwrites_dataset(config.download_mode) and self.is_prepared():
            self._take_finished_build(lock)
            return False
        made = [*build_lock.absent([extract_dir, downloads_dir / self.name, downloads_dir]), *made]
        stack.enter_context(build_lock.removed_if_empty_on_failure(made))  # in the lock
        stack.enter_context(build_lock.removed_on_failure(config_record))  # before the folders
        if lock.held:
            build_lock.remove_stale(dataset_dir, downloads_dir)
        return True

    def as_dataset(self, *args: Any, **kwargs: Any) -> Any:
        """TFDS's as_dataset; reading a trial build (capped per split) says so."""
        self._warn_if_capped()
        return super().as_dataset(*args, **kwargs)

    def as_data_source(self, *args: Any, **kwargs: Any) -> Any:
        """TFDS's as_data_source; reading a trial build (capped per split) says so."""
        self._warn_if_capped()
        return super().as_data_source(*args, **kwargs)

    def _warn_if_capped(self) -> None:
        """Warns, once per builder, that the build holds only the first N records of each file."""
        if self._cap_told or not self.is_prepared():
            return
        self._cap_told = True
        cap = build_record.read_build(self.data_path).max_examples_per_split
        if cap:
            build_record.LOG.warning(
                "%s is a trial build: it holds only the first %d %s of each annotation "
                "file (max_examples_per_split); `mpii-pose info` says what it holds",
                self.data_path,
                cap,
                UNITS[self.builder_config.name],
            )

    def _warn_if_not_as_asked(self, config: tfds.download.DownloadConfig) -> None:
        """Says how the build that is reused differs from what was asked (a per-split cap, other
        annotation files), so that nobody trains on a trial build unawares."""
        record = build_record.read_build(self.data_path)
        asked = build_record.Request(
            build_record.asked_manual_dir(config.manual_dir, self.data_dir_root),
            config.max_examples_per_split,
            record.file_format,
        )
        found = build_record.differences(record, asked) if record.recorded else []
        if found:
            build_record.LOG.warning(
                "reusing %s, which is not what was asked: %s (rebuild with `tfds build "
                "--overwrite`, `mpii-pose build --overwrite` or download_mode="
                "REUSE_CACHE_IF_EXISTS)",
                self.data_path,
                "; ".join(found),
            )

    def _take_finished_build(self, lock: build_lock.Lock) -> None:
        """Reads the build that another process finished while this one waited for it."""
        self.info.read_from_directory(self.data_path)
        self.waited_for = lock
        record = build_record.read_build(self.data_path)
        build_record.LOG.warning(
            "the build waited for (%s) finished %s; nothing written by this one:\n%s",
            "pid unknown" if lock.holder is None else f"pid {lock.holder}",
            self.data_path,
            "\n".join(build_record.split_table(record)),
        )

    def _info(self) -> tfds.core.DatasetInfo:
        """The features, and metadata.json for the build's record (see `build_record`)."""
        return self.dataset_info_from_configs(
            features=feature_spec(self.builder_config.name),
            homepage=_HOMEPAGE,
            metadata=tfds.core.MetadataDict(),
        )

    def _as_dataset(self, *args: Any, **kwargs: Any) -> Any:
        """TFDS's reading, without the deprecation warnings its decoder of bytes-encoded tensors
        logs about its own code (see log_filters); no feature definition writing the same bytes
        avoids them."""
        with log_filters.without_messages("absl", log_filters.TFDS_DTYPE_DEPRECATED):
            return super()._as_dataset(*args, **kwargs)

    def _should_cache_ds(self, split: Any, shuffle_files: bool, read_config: Any) -> bool:
        """Never auto-cache: TFDS caches builds under 250 MiB of shards, but it caches decoded
        images, several times the JPEGs' size, and a partial read (`ds.take(1)`) discards the
        cache with a warning. `ds.cache()` is there for who wants it."""
        return False

    @_with_settings
    def _checksums_path(env: settings.Settings) -> epath.Path:
        """checksums.tsv beside the builder, or the file that $MPII_POSE_CHECKSUMS names."""
        return _checksums_file(env)

    @_with_settings
    def url_infos(env: settings.Settings) -> dict[str, tfds_internals.UrlInfo]:
        """The registered checksums, read at each build so that registering takes effect."""
        path = _checksums_file(env)
        registered = tfds_internals.load_url_infos(path) if path.exists() else {}
        return downloads.mirrored_url_infos(registered, env.mirror)

    def _split_generators(
        self, dl_manager: tfds.download.DownloadManager
    ) -> dict[str, Iterator[tuple[int, dict[str, Any]]]]:
        """TFDS's split API; the build itself goes through `_download_and_prepare`'s plan."""
        split_sources, _ = self._sources(dl_manager)
        return {split: self._generate_examples(source) for split, source in split_sources.items()}

    def _sources(
        self, dl_manager: tfds.download.DownloadManager
    ) -> tuple[dict[str, assembly.SplitSource], dict[str, epath.Path]]:
        """Every split's source: the manual directory first, downloads for what it lacks (and
        the folders those were extracted to, by archive name)."""
        manual = _manual_dir(dl_manager)
        downloaded = downloads.fetch(
            dl_manager,
            manual,
            manual_dir.missing_parts(manual),
            self.name,
            mirror=self.settings.mirror,
            url_infos=self.url_infos,
            remove_archive=self.remove_archive,
        )
        split_sources = assembly.load_sources(
            manual,
            tuple(downloaded.values()),
            self.strict_official,
            per_image=self.builder_config.name == PER_IMAGE,
        )
        return split_sources, downloaded

    def _generate_examples(
        self, source: assembly.SplitSource
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        yield from examples.generate_examples(source, self.builder_config.name)

    def _download_and_prepare(
        self,
        dl_manager: tfds.download.DownloadManager,
        download_config: tfds.download.DownloadConfig,
    ) -> None:
        """Checks every image the splits use, plans every split, checks that the shards fit on
        the data dir's file system, writes them with the chosen engine (which counts what it
        wrote), then records them.

        The engine starts (Ray: its cluster) once the annotations are read and checked. (Starting
        it while they are read was measured slower on 2 cores: Ray's start-up is CPU work.)
        """
        if download_config.max_examples_per_split == 0:
            return
        file_format = self.info.file_format.value
        choice.check_format(self.engine_request, self.settings, file_format)  # before any reading
        split_sources, downloaded = self._sources(dl_manager)
        cap = download_config.max_examples_per_split
        image_check.check_images(split_sources.values(), cap)
        plans = [
            plan_split(source, self.builder_config.name, cap, download_config.num_shards)
            for source in split_sources.values()
        ]
        self._record_inputs(_manual_dir(dl_manager), downloaded, cap, split_sources, plans)
        self._check_space(plans, file_format)
        chosen = choice.choose(
            self.engine_request,
            self.settings,
            examples=sum(len(plan.records) for plan in plans),
            file_format=file_format,
            beam_options=download_config.beam_options,
            beam_runner=download_config.beam_runner,
        )
        _LOG.info("Writing the shards with engine %s (%s)", chosen.engine.name, chosen.reason)
        job = WriteJob(
            plans=plans,
            templates={plan.split: self._get_filename_template(plan.split) for plan in plans},
            info=self.info,
            scratch_dir=epath.Path(self.data_dir),
            download_config=download_config,
        )
        with chosen.engine.started():
            written = chosen.engine.write(job)
        self.last_write = WriteReport(written.ran_on, chosen.reason, written.seconds)
        self.info.set_splits(tfds_internals.SplitDict(written.splits))

    def _check_space(self, plans: list[SplitPlan], file_format: str) -> None:
        """Estimates what the build writes and, unless told to skip the check, stops before the
        first shard when the data dir's file system has less free (TFDS's temporary build
        folder, where the shards go, sits beside the final one: the same file system)."""
        need = disk_space.SpaceNeed(
            # the final folder, taken before TFDS points data_path at its temporary one
            self.space_need.folder if self.space_need else str(self.data_path),
            space.estimate_bytes(plans, file_format),
            disk_space.free_bytes(self.data_dir),
        )
        self.space_need = need
        _LOG.info(
            "The build needs about %s (estimated, %d%% margin included); %s free in %s",
            disk_space.human(need.needed),
            round(space.MARGIN * 100),
            "unknown" if need.free is None else disk_space.human(need.free),
            need.folder,
        )
        if not self.skip_space_check:
            disk_space.check_space(need)

    def _record_inputs(
        self,
        manual: epath.Path | None,
        downloaded: dict[str, epath.Path],
        cap: int | None,
        split_sources: dict[str, assembly.SplitSource],
        plans: list[SplitPlan],
    ) -> None:
        """Puts what the build is made from in its metadata.json, and warns of what its persons
        lack (head boxes, official fields) and how to add it."""
        metadata = build_record.metadata(
            manual,
            downloaded,
            cap,
            split_sources,
            {plan.split: examples.persons_of(plan.records) for plan in plans},
        )
        self.info.metadata[build_record.METADATA_KEY] = metadata
        planned = build_record.make_record(
            str(self.data_path),
            str(self.version),
            None,
            self.info.file_format.value,
            {plan.split: (plan.shard_lengths, 0) for plan in plans},
            metadata,
        )
        build_record.warn_lacking(planned)


def _checksums_file(env: settings.Settings) -> epath.Path:
    """checksums.tsv beside the builder, or the file that $MPII_POSE_CHECKSUMS names."""
    return env.checksums or epath.Path(__file__).parent / "checksums.tsv"


def _manual_dir(dl_manager: tfds.download.DownloadManager) -> epath.Path | None:
    """The manual directory, or None when there is none (or it is empty)."""
    try:
        return dl_manager.manual_dir
    except AssertionError:  # TFDS's "does not exist or is empty"
        return None
