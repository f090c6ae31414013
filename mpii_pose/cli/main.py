"""The `mpii-pose` command: build the MPII Human Pose TFDS dataset, and draw examples of a build."""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import math
import os
import pathlib
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, NoReturn

from etils import epath
from tensorflow_datasets.core import constants

from mpii_pose import __version__
from mpii_pose.base import build_lock, settings
from mpii_pose.base.configs import CONFIGS, PER_PERSON
from mpii_pose.base.errors import ManualDirError, MpiiPoseError
from mpii_pose.base.interruption import Received, signals_interrupt
from mpii_pose.base.tf_startup import import_tensorflow
from mpii_pose.cli.score import add_score, score
from mpii_pose.cli.submit import EXAMPLES as SUBMIT_EXAMPLES
from mpii_pose.cli.submit import add_submit, submit
from mpii_pose.engines import ENGINES, EngineOptions, choice
from mpii_pose.shards import array_record_files, tfrecord_files
from mpii_pose.shards.plan import SHARDS_PER_SPLIT
from mpii_pose.sources import build_record
from mpii_pose.sources.build_record import Request
from mpii_pose.sources.manual_dir import (
    ANNOTATION_FILES,
    IMAGES,
    OFFICIAL_FILE,
    SAMPLE_DIR,
    annotation_layout,
    describe_part,
)
from mpii_pose.training.drawing import draw_example, grid

_AUTO = "auto"
_IMPORTED = time.perf_counter()

if TYPE_CHECKING:
    import tensorflow_datasets as tfds
    from PIL import Image

    from mpii_pose.mpii_pose_dataset_builder import Builder

_EPILOG = f"""\
examples:
  mpii-pose build --sample --data_dir /tmp/mpii_pose_sample
  mpii-pose build --manual_dir ~/mpii --data_dir ~/tensorflow_datasets --engine ray
  mpii-pose build --manual_dir ~/mpii --engine beam \\
      --beam_pipeline_options "direct_num_workers=2,direct_running_mode=multi_processing"
  mpii-pose show --data_dir /tmp/mpii_pose_sample --num 16 --out /tmp/mpii_pose.png
  mpii-pose info --data_dir /tmp/mpii_pose_sample
{SUBMIT_EXAMPLES}
  mpii-pose score --submission pred_valid.mat --ground_truth mpii_human_pose_v1_u12_1.mat \\
      --split validation

then, in Python:
  import mpii_pose, tensorflow_datasets as tfds
  ds = tfds.load('mpii_pose', data_dir=DATA_DIR, split='train')

environment (read once per build, by every entry point):
{settings.help_text()}
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mpii-pose",
        description="Build the MPII Human Pose dataset as TFDS shards (one example per person), "
        "say what a build holds, draw examples of a build, write test predictions as MPII's "
        "benchmark file, and score such a file as MPII does.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mpii-pose {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    build = commands.add_parser(
        "build",
        help="write the train, validation (and test) shards",
        description=f"Write the train ({SHARDS_PER_SPLIT['train']} shards), validation "
        f"({SHARDS_PER_SPLIT['validation']} shards) and, with a test file, test "
        f"({SHARDS_PER_SPLIT['test']} shards) splits, the same bytes as `tfds build mpii_pose`.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = build.add_mutually_exclusive_group()
    source.add_argument(
        "--manual_dir",
        metavar="M",
        help=f"folder with {describe_part(IMAGES)} and the HRNet/mmpose JSON "
        f"({annotation_layout()}); what it lacks is downloaded (${settings.MIRROR} fetches from "
        "a mirror). Default: DATA_DIR/downloads/manual",
    )
    source.add_argument(
        "--sample",
        action="store_true",
        help=f"build the small synthetic sample bundled with the package ({SAMPLE_DIR})",
    )
    _add_data_dir(build, "; the build goes to D/mpii_pose/VERSION")
    build.add_argument(
        "--engine",
        choices=(_AUTO, *ENGINES),
        default=_AUTO,
        help="what runs the shard writes: "
        + ", ".join(f"{name} ({how})" for name, how in ENGINES.items())
        + f"; all give the same bytes. {_AUTO}: ray when --workers or --address is given, beam when "
        f"--beam_pipeline_options is, else ${settings.ENGINE} if set, else ray for builds of "
        f"{choice.RAY_MIN_EXAMPLES:,} examples or more on {choice.RAY_MIN_CPUS} CPUs or more, "
        "else local (default: %(default)s)",
    )
    build.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="ray: shard writes running at once (default: one per CPU, or the cluster's)",
    )
    build.add_argument(
        "--address",
        metavar="ADDR",
        help="ray: address of an existing Ray cluster, e.g. 10.0.0.5:6379 (default: "
        "$RAY_ADDRESS, else a local Ray started for this build); its nodes need this package "
        "and must see the manual and data directories",
    )
    build.add_argument(
        "--beam_pipeline_options",
        metavar="OPTS",
        help='beam: pipeline options as in `tfds build`, e.g. "runner=FlinkRunner,parallelism=8" '
        "(default: DirectRunner)",
    )
    _add_config(build, "the dataset config to build")
    build.add_argument(
        "--file_format",
        choices=choice.ENGINE_FORMATS,
        default=tfrecord_files.FORMAT,
        help=f"shard file format; {array_record_files.FORMAT} gives random access without TensorFlow "
        "through tfds.data_source (default: %(default)s)",
    )
    build.add_argument(
        "--max_examples_per_split",
        type=_positive_int,
        metavar="N",
        help="keep only the first N persons of each annotation file (for quick trials)",
    )
    build.add_argument(
        "--strict_official",
        action="store_true",
        help=f"stop at a problem in the official {OFFICIAL_FILE} (default: leave "
        "the persons it concerns with unknown official values and warn; also "
        f"${settings.STRICT_OFFICIAL}=1)",
    )
    build.add_argument(
        "--skip_space_check",
        action="store_true",
        help="build even when the estimate of what the build writes exceeds the free space of "
        "the data dir's file system (default: stop before the first shard, saying how much is "
        f"needed and free; also ${settings.SKIP_SPACE_CHECK}=1)",
    )
    build.add_argument(
        "--remove_archive",
        action="store_true",
        help="delete the downloaded images archive (12 GB) once its images are extracted "
        "(default: keep it, so that extracting again needs no download; also "
        f"${settings.REMOVE_ARCHIVE}=1)",
    )
    build.add_argument(
        "--overwrite", action="store_true", help="replace an existing build of this version"
    )
    build.add_argument("--quiet", action="store_true", help="no progress bars and no summary")
    _add_show(commands)
    _add_info(commands)
    add_submit(commands, _add_data_dir)
    add_score(commands)
    return parser


def _add_info(commands: argparse._SubParsersAction) -> None:
    """The `info` subcommand's options."""
    info = commands.add_parser(
        "info",
        help="say what the builds in a data dir hold and were made from",
        description="Print every build of mpii_pose in a data dir: version, configuration, file "
        "format, splits with examples, shards and sizes, the per-split cap, the input files "
        "(by name in the manual directory or download, with sha256), what its persons lack "
        "(head boxes, official fields) and what is unknown; unfinished builds too. Reads JSON "
        "only: no TensorFlow.",
        epilog="example:\n  mpii-pose info --data_dir /tmp/mpii_pose_sample",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_dir(info, ", as for build")


def _add_show(commands: argparse._SubParsersAction) -> None:
    """The `show` subcommand's options."""
    show = commands.add_parser(
        "show",
        help="draw examples of a built split into one PNG",
        description="Draw examples of a built split into a grid PNG, captioned "
        "filename#person_index:\neach person's labelled skeleton (the person's right in red, "
        "left in blue, centre in green,\nlabelled joints as white dots) and the head box in "
        "yellow when known.",
        epilog="example:\n  mpii-pose build --sample --data_dir /tmp/mpii_pose_sample\n"
        "  mpii-pose show --data_dir /tmp/mpii_pose_sample --split train --out /tmp/train.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_dir(show, ", as for build; mpii_pose must be built there")
    _add_config(show, "the built config to draw (per_image: every person of each image)")
    show.add_argument(
        "--split",
        choices=tuple(ANNOTATION_FILES),
        default="validation",
        help="the split to draw from (default: %(default)s)",
    )
    show.add_argument(
        "--num",
        type=_positive_int,
        default=16,
        metavar="N",
        help="how many examples to draw, fewer if the split ends first (default: %(default)s)",
    )
    show.add_argument(
        "--start",
        type=_non_negative_int,
        default=0,
        metavar="K",
        help="skip the first K examples of the split, in its stored order (default: %(default)s)",
    )
    show.add_argument(
        "--columns",
        type=_positive_int,
        metavar="N",
        help="tiles per row (default: about a square, the square root of the examples drawn)",
    )
    show.add_argument(
        "--tile",
        type=_positive_int,
        default=256,
        metavar="PX",
        help="side of each square tile in pixels; every image is letterboxed into one "
        "(default: %(default)s)",
    )
    show.add_argument("--out", required=True, metavar="PNG", help="the PNG file to write")


def _add_config(command: argparse.ArgumentParser, what: str) -> None:
    """The --config option of a subcommand."""
    command.add_argument(
        "--config",
        choices=tuple(CONFIGS),
        default=PER_PERSON,
        help=f"{what}: "
        + "; ".join(f"{name}: {about}" for name, about in CONFIGS.items())
        + " (default: %(default)s)",
    )


def _add_data_dir(command: argparse.ArgumentParser, what: str) -> None:
    """The --data_dir option of a subcommand; `what` follows "where TFDS datasets live"."""
    command.add_argument(
        "--data_dir",
        metavar="D",
        help=f"where TFDS datasets live{what}. "
        "Default: TFDS's ($TFDS_DATA_DIR or ~/tensorflow_datasets)",
    )


def _positive_int(text: str) -> int:
    return _int_at_least(text, 1)


def _non_negative_int(text: str) -> int:
    return _int_at_least(text, 0)


def _int_at_least(text: str, minimum: int) -> int:
    value = int(text)
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    return value


def _engine_options(args: argparse.Namespace) -> EngineOptions:
    """The engines' options given on the command line."""
    return EngineOptions(args.workers, args.address, args.beam_pipeline_options)


def build(args: argparse.Namespace) -> int:
    """Runs TFDS's download_and_prepare for the builder and prints what it wrote."""
    request = choice.Request.of(
        None if args.engine == _AUTO else args.engine, _engine_options(args)
    )
    asked = choice.asked(request, settings.read())
    if asked is not None and asked[0] == choice.TFDS_WRITER:  # the one writer using TensorFlow
        import_tensorflow()
    import tensorflow_datasets as tfds

    from mpii_pose.mpii_pose_dataset_builder import Builder

    if args.quiet:
        tfds.disable_progress_bar()
        for logger in ("", "absl"):  # Beam warns through the root logger, TFDS through absl
            logging.getLogger(logger).setLevel(logging.ERROR)
    options = {
        "data_dir": args.data_dir,
        "config": args.config,
        "file_format": args.file_format,
        "engine": request.name,
        "engine_options": request.options,
        "strict_official": args.strict_official or None,  # None: the environment decides
        "skip_space_check": args.skip_space_check or None,
        "remove_archive": args.remove_archive or None,
    }
    manual_dir = str(SAMPLE_DIR) if args.sample else args.manual_dir
    existing = Builder(data_dir=args.data_dir, config=args.config)  # of any file format
    if existing.is_prepared():
        if not args.overwrite:
            print(_already_built(existing, args, manual_dir))
            return 0
        # As `tfds build --overwrite`: a builder made over a build carries what it read there
        # (its metadata.json among it), so the build goes and a fresh builder writes.
        existing.data_path.rmtree()
    builder = Builder(**options)
    if manual_dir is not None and not epath.Path(manual_dir).is_dir():
        raise ManualDirError(
            f"manual directory {manual_dir} does not exist.\n"
            + textwrap.dedent(Builder.MANUAL_DOWNLOAD_INSTRUCTIONS)
        )
    mode = tfds.download.GenerateMode
    config = tfds.download.DownloadConfig(
        manual_dir=manual_dir,
        max_examples_per_split=args.max_examples_per_split,
        download_mode=mode.REUSE_CACHE_IF_EXISTS
        if args.overwrite
        else mode.REUSE_DATASET_IF_EXISTS,
    )
    with _silenced(args.quiet), _said_in_summary(args.quiet):
        builder.download_and_prepare(download_config=config)
    if not args.quiet:
        if builder.waited_for is not None:
            print(_finished_by_another(builder, builder.waited_for, args, manual_dir))
        else:
            print(summary(builder, command_seconds(args.started)))
    return 0


def _request(builder: Builder, args: argparse.Namespace, manual_dir: str | None) -> Request:
    """What the command asks for; the manual directory by default is TFDS's."""
    return Request(
        build_record.asked_manual_dir(manual_dir, builder.data_dir_root),
        args.max_examples_per_split,
        args.file_format,
    )


def _already_built(builder: Builder, args: argparse.Namespace, manual_dir: str | None) -> str:
    """What an existing build holds, and how it differs from what the command asks."""
    return _existing_build(
        builder,
        _request(builder, args, manual_dir),
        f"mpii_pose/{builder.builder_config.name} {builder.version} is already built in "
        f"{builder.data_dir}:",
        "Nothing written (use --overwrite to rebuild; `mpii-pose info` shows the whole build).",
    )


def _finished_by_another(
    builder: Builder, lock: build_lock.Lock, args: argparse.Namespace, manual_dir: str | None
) -> str:
    """The build that another process finished while this command waited for its lock."""
    holder = "" if lock.holder is None else f" (pid {lock.holder})"
    return _existing_build(
        builder,
        _request(builder, args, manual_dir),
        f"Another build{holder} finished mpii_pose {builder.version} in {builder.data_dir} "
        "while this one waited; nothing written by this one:",
        "Use --overwrite to rebuild; `mpii-pose info` shows the whole build.",
    )


def _existing_build(builder: Builder, request: Request, header: str, footer: str) -> str:
    """`header`, the build's splits, how it differs from `request`, what it lacks, `footer`."""
    record = build_record.read_build(builder.data_path)
    lines = [header, *build_record.split_table(record)]
    found = build_record.differences(record, request)
    if found:
        lines.append("It is not what this command asks for:")
        lines += [f"  - {difference}" for difference in found]
    return "\n".join([*lines, *build_record.lacking(record), footer])


def command_seconds(started: float | None) -> float:
    """Seconds since `started` (perf_counter), or for the `mpii-pose` command (None) since its
    process started (Linux; elsewhere since the package was imported)."""
    if started is not None:
        return time.perf_counter() - started
    try:
        fields = pathlib.Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(pathlib.Path("/proc/uptime").read_text().split()[0])
        return uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _IMPORTED


def info(args: argparse.Namespace) -> int:
    """Prints what every build of mpii_pose in the data dir holds; 1 when there is none."""
    data_dir = epath.Path(args.data_dir or constants.get_default_data_dir())
    builds = build_record.find_builds(data_dir)
    unfinished = build_lock.unfinished_builds(data_dir / "mpii_pose")
    for path in builds:
        print("\n".join(build_record.describe(build_record.read_build(path))))
    for path in unfinished:
        print(
            f"unfinished: {path} (a build under way, or one that was killed: the next build "
            "removes it once none is running)"
        )
    if not builds:
        print(
            f"mpii_pose is not built in {data_dir}; build it with `mpii-pose build --manual_dir M "
            f"--data_dir {data_dir}` (or --sample for the bundled sample)",
            file=sys.stderr,
        )
        return 1
    return 0


class ShowError(MpiiPoseError):
    """`mpii-pose show` cannot draw what was asked: nothing built in the data dir, or too little."""


def show(args: argparse.Namespace) -> int:
    """Draws --num examples of a built split into a grid PNG and prints where it went."""
    import_tensorflow()
    import tensorflow_datasets as tfds

    builder = _prepared_builder(args.data_dir, args.config)
    if args.split not in builder.info.splits:
        raise ShowError(
            f"this build of mpii_pose in {builder.data_dir_root} has no {args.split} split (its "
            f"splits: {', '.join(builder.info.splits)}); a test split is built when the manual "
            "directory has test.json or mpii_test.json"
        )
    total = builder.info.splits[args.split].num_examples
    if args.start >= total:
        raise ShowError(
            f"--start {args.start} is past the end: {args.split} has {total} examples in "
            f"{builder.data_dir_root}"
        )
    end = min(total, args.start + args.num)
    dataset = builder.as_dataset(split=f"{args.split}[{args.start}:{end}]", shuffle_files=False)
    pictures, captions = [], []
    for example in tfds.as_numpy(dataset):
        pictures.append(_picture(example, args.tile))
        captions.append(_caption(example))
    columns = args.columns or math.ceil(math.sqrt(len(pictures)))
    sheet = grid(pictures, columns, captions, tile=args.tile)
    out = epath.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as f:
        sheet.save(f, format="PNG")
    print(
        f"Wrote {out}: {args.split} examples {args.start} to {end - 1} of {total}, "
        f"{columns} columns, {sheet.width}x{sheet.height} pixels"
    )
    return 0


def _prepared_builder(data_dir: str | None, config: str) -> tfds.core.DatasetBuilder:
    """TFDS's mpii_pose builder of `config` in `data_dir`; says how to build it when it is not
    built there."""
    import tensorflow_datasets as tfds

    logging.getLogger("absl").setLevel(logging.ERROR)  # TFDS's notes on folders it looked in
    builder = tfds.builder(f"mpii_pose/{config}", data_dir=data_dir)
    if not builder.is_prepared():
        root = builder.data_dir_root
        raise ShowError(
            f"mpii_pose/{config} {builder.version} is not built in {root}; build it first with "
            f"`mpii-pose build --config {config} --manual_dir M --data_dir {root}` (or "
            "`--sample` instead of `--manual_dir M` for the bundled sample)"
        )
    return builder


def _picture(example: dict, tile: int) -> Image.Image:
    """One example drawn (per_image: each of its persons in turn), shrunk to a tile so that only
    tiles stay in memory, not whole images."""
    persons = example.get("persons")
    rows = (
        [(example["joints"], example["visibility"], example["head_box"])]
        if persons is None
        else zip(persons["joints"], persons["visibility"], persons["head_box"], strict=True)
    )
    picture = example["image"]
    for joints, labelled, box in rows:
        picture = draw_example(picture, joints, labelled, head_box=box)
    picture.thumbnail((tile, tile))
    return picture


def _caption(example: dict) -> str:
    """filename#person_index, or per_image: the filename and its persons (unannotated ones)."""
    name = example["filename"].decode()
    if "persons" not in example:
        return f"{name}#{example['person_index']}"
    annotated = example["persons"]["annotated"]
    unannotated = int((~annotated).sum())
    return f"{name} ({len(annotated)}" + (f", {unannotated} unannotated)" if unannotated else ")")


@contextlib.contextmanager
def _silenced(quiet: bool) -> Iterator[None]:
    """With --quiet, hides what TFDS prints while building; errors still reach stderr."""
    if not quiet:
        yield
        return
    with contextlib.redirect_stdout(io.StringIO()):
        yield


@contextlib.contextmanager
def _said_in_summary(quiet: bool) -> Iterator[None]:
    """Keeps the builder's report of what the build holds and lacks (`build_record.LOG`) off
    the terminal while the summary will print it; --quiet keeps only errors anyway."""
    if quiet:
        yield
        return

    def muted(record: logging.LogRecord) -> bool:
        return False

    build_record.LOG.addFilter(muted)
    try:
        yield
    finally:
        build_record.LOG.removeFilter(muted)


def summary(builder: Builder, seconds: float) -> str:
    """A few lines saying what was built, where, how fast, and how to load it.

    The throughput is of writing the shards, as the progress bar shows it; `seconds` is the run's.
    """
    record = build_record.read_build(builder.data_path)
    lines = [f"Built mpii_pose {builder.version} in {builder.data_dir}"]
    lines += build_record.split_table(record)
    examples = sum(split.examples for split in record.splits)
    mib = sum(split.num_bytes for split in record.splits) / 2**20
    report = builder.last_write
    writing, engine = (
        (report.seconds, f"{report.ran_on}; {report.reason}") if report else (seconds, "none")
    )
    rate = examples / writing
    lines.append(
        f"  writing {writing:.{2 if writing < 1 else 1}f} s: "
        f"{rate:.{0 if rate >= 100 else 1}f} examples/s, "
        f"{mib / writing:.1f} MiB/s; {seconds:.1f} s in all (engine: {engine})"
    )
    lines += build_record.lacking(record)
    data_dir = builder.data_dir_root
    lines.append(
        f"Load it: import mpii_pose; tfds.load('mpii_pose', data_dir='{data_dir}', split='train')"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """The `mpii-pose` command (argv None: the process's arguments); returns its exit status."""
    started = None if argv is None else time.perf_counter()  # a call from Python times itself
    args = _parser().parse_args(argv)
    args.started = started
    received = Received()
    try:
        with signals_interrupt() as received:
            commands = {
                "build": build,
                "show": show,
                "info": info,
                "submit": submit,
                "score": score,
            }
            return commands[args.command](args)
    except (MpiiPoseError, OSError) as err:  # bad input, or a full or unwritable disk
        print(f"mpii-pose: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM or SIGHUP, once everything was cleaned up
        what = "interrupted" if received.signum is None else "terminated"
        print(f"mpii-pose: {what}; nothing was left half-written.", file=sys.stderr)
        if _busy_threads():  # e.g. TFDS's download threads, blocked on a connection
            _exit_now(received.exit_code)
        return received.exit_code


def _busy_threads() -> list[threading.Thread]:
    """Threads that would keep the process alive after `main` returns."""
    main_thread = threading.main_thread()
    return [t for t in threading.enumerate() if t is not main_thread and not t.daemon]


def _exit_now(code: int) -> NoReturn:
    """Ends the process without waiting for its threads: what they were writing is removed."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
