"""`mpii-pose submit`: predictions of a built split written as MPII's `pred_keypoints_mpii.mat`."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from mpii_pose.base.log_filters import without_messages
from mpii_pose.base.tf_startup import import_tensorflow
from mpii_pose.benchmark.predictions import FORMS
from mpii_pose.benchmark.submission import SUBMISSION_FILE, VALIDATION_SPLIT
from mpii_pose.sources.manual_dir import OFFICIAL_FILE, TEST_SPLIT

EXAMPLES = """\
  mpii-pose submit --data_dir ~/tensorflow_datasets --predictions pred.mat \\
      --out pred_keypoints_mpii.mat
  mpii-pose submit --data_dir ~/tensorflow_datasets --predictions val.npy --split validation \\
      --out val_submission.mat"""


def add_submit(
    commands: argparse._SubParsersAction,
    add_data_dir: Callable[[argparse.ArgumentParser, str], None],
) -> None:
    """The `submit` subcommand's options (`add_data_dir`: the CLI's shared --data_dir option)."""
    submit = commands.add_parser(
        "submit",
        help="write test predictions as MPII's pred_keypoints_mpii.mat",
        description="Write predictions of a built split in the layout MPII's benchmark reads: "
        "'pred', the official annolist of the test images in annolist order, each scored "
        "person's 16 points (id, x, y, MATLAB 1-based) in its rect. With --split validation, "
        "the same layout over the validation persons, to check with `mpii-pose score`.",
        epilog=f"examples:\n{EXAMPLES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_dir(submit, "; it must hold a build made with the official .mat")
    submit.add_argument(
        "--predictions",
        metavar="P",
        required=True,
        help=f"{FORMS}; (x, y) per joint in MPII order, MATLAB 1-based pixels as `joints`",
    )
    submit.add_argument(
        "--out",
        metavar="FILE",
        default=SUBMISSION_FILE,
        help="the file to write (default: %(default)s)",
    )
    submit.add_argument(
        "--manual_dir",
        metavar="M",
        help=f"where the build found {OFFICIAL_FILE} (default: DATA_DIR/downloads/manual; "
        "the build's downloads are looked in too)",
    )
    submit.add_argument(
        "--official_mat",
        metavar="FILE",
        help=f"the official {OFFICIAL_FILE} the build was made with, if not found there",
    )
    submit.add_argument(
        "--split",
        choices=(TEST_SPLIT, VALIDATION_SPLIT),
        default=TEST_SPLIT,
        help="the split predicted (default: %(default)s)",
    )


def submit(args: argparse.Namespace) -> int:
    """Writes the submission file and prints what it holds and what to do next."""
    import_tensorflow()
    from mpii_pose.benchmark.submission import LOG, write_submission

    with without_messages(LOG.name, ""):  # its warnings are in the summary
        report = write_submission(
            args.data_dir,
            args.predictions,
            args.out,
            manual_dir=args.manual_dir,
            official_mat=args.official_mat,
            split=args.split,
        )
    print("\n".join(report.lines()))
    return 0
