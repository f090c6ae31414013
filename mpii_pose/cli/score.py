"""`mpii-pose score`: MPII's single-person PCKh of a submission file, without TensorFlow."""

from __future__ import annotations

import argparse
import json

from mpii_pose.benchmark.scoring import SPLITS, score_submission


def add_score(commands: argparse._SubParsersAction) -> None:
    """The `score` subcommand's options."""
    parser = commands.add_parser(
        "score",
        help="MPII's single-person PCKh of a submission .mat",
        description="Score a submission (a .mat with MPII's `pred`) as MPII's evaluation "
        "(evaluatePCKh.m) does: PCKh@0.5, PCKh@0.1 and the AUC over thresholds 0 to 0.5, per "
        "group of joints as MPII's table gives them (Head = mean of upper neck and head top), "
        "on the single persons of the test images or on the persons a validation submission "
        "names. No TensorFlow.",
        epilog="examples:\n"
        "  mpii-pose score --submission pred_valid.mat --split validation \\\n"
        "      --ground_truth mpii_human_pose_v1_u12_1.mat\n"
        "  mpii-pose score --submission pred_keypoints_mpii.mat --json \\\n"
        "      --ground_truth annolist_dataset_v12.mat --official_mat mpii_human_pose_v1_u12_1.mat",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--submission",
        required=True,
        metavar="F",
        help="the submission .mat: variable pred, the annolist of the scored images with "
        "predicted points (1-based pixels); for validation also annolist_index and scored_rects, "
        "as `mpii-pose submit --split validation` writes them",
    )
    parser.add_argument(
        "--ground_truth",
        required=True,
        metavar="G",
        help="the ground truth: the official mpii_human_pose_v1_u12_1.mat (struct RELEASE; its "
        "annolist holds train and validation points) or a .mat with a variable annolist holding "
        "the points (MPII's annolist_dataset_v12.mat, for the test split)",
    )
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default="test",
        help="test: the single persons of the test images (RELEASE.img_train == 0, "
        "RELEASE.single_person), as MPII scores a submission; validation: the persons the "
        "submission names (default: %(default)s)",
    )
    parser.add_argument(
        "--official_mat",
        metavar="O",
        help="the official mpii_human_pose_v1_u12_1.mat, for its img_train and single_person "
        "when G holds only an annolist (needed then for the test split)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the scores as JSON (unrounded) instead"
    )


def score(args: argparse.Namespace) -> int:
    """Prints MPII's table of the submission's PCKh (or, with --json, all the scores)."""
    result = score_submission(args.submission, args.ground_truth, args.split, args.official_mat)
    print(json.dumps(result.to_json(), indent=2) if args.json else result.table())
    return 0
