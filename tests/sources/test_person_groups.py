"""MPII's groups_v12.mat: read in MATLAB's layout and in the collapsed shapes other writers store,
and refused, naming the file and `groups{i}{g}`, when a group is not a set of rect numbers."""

import pickle

import numpy as np
import pytest

from mpii_pose.base.errors import AnnotationError
from mpii_pose.sample.mat_writers import groups_mat
from mpii_pose.sources.mat_values import load_mat, mat_bytes
from mpii_pose.sources.person_groups import GroupsFormatError, parse_groups

SOURCE = "/m/groups_v12.mat"
STRUCT = np.zeros((1, 1), dtype=[("rect", object)])


def cell(*items) -> np.ndarray:
    """A 1×N MATLAB cell of `items`, each saved as given."""
    array = np.empty((1, len(items)), dtype=object)
    for i, item in enumerate(items):
        array[0, i] = item
    return array


def row(*numbers, dtype=np.float64) -> np.ndarray:
    return np.array([numbers], dtype=dtype)


def raw(groups) -> bytes:
    return mat_bytes({"groups": groups})


def test_groups_round_trip_in_matlab_s_layout():
    groups = [[[1, 2], [4]], [], [[2]], [[3, 1], [5, 6, 7]]]
    data = groups_mat(groups)
    assert data == groups_mat(groups) and data != groups_mat(groups[:3])
    assert parse_groups(data, SOURCE, image_count=4) == (
        {0: 1, 1: 1, 3: 2},
        {},
        {1: 1},
        {2: 1, 0: 1, 4: 2, 5: 2, 6: 2},
    )


def test_the_writer_stores_a_cell_of_cells_of_double_rows():
    """As scipy loads it without squeezing: N×1 cell, 1×G cells ({} when none), 1×K doubles."""
    images = load_mat(groups_mat([[[1, 2], [3]], []]))["groups"]
    assert images.dtype == object and images.shape == (2, 1)
    first, second = images[0, 0], images[1, 0]
    assert first.dtype == object and first.shape == (1, 2)
    assert first[0, 0].dtype == np.float64 and first[0, 0].tolist() == [[1.0, 2.0]]
    assert first[0, 1].shape == (1, 1)  # a group of one rect: a 1×1 array, not a bare number
    assert second.dtype == object and second.shape == (0, 0)


@pytest.mark.parametrize(
    "groups, expected",
    [
        (cell(row(1, 2), row(3)), ({0: 1, 1: 1}, {2: 1})),  # each image's only group, bare
        (cell(cell(row(1.0), row(2.0))), ({0: 1, 1: 2},)),  # groups of one rect, 1×1
        (cell(cell(cell(row(2, 3)))), ({1: 1, 2: 1},)),  # a group inside a cell of one
        (cell(np.zeros((0, 0)), np.empty((0, 0), dtype=object)), ({}, {})),  # [] and {}
        (cell(cell(np.zeros((0, 0)), row(3))), ({2: 2},)),  # an empty group keeps its number
        (cell(cell(np.array([[1.0], [2.0]]))), ({0: 1, 1: 1},)),  # a column
        (cell(cell(row(1, 2, dtype=np.uint8))), ({0: 1, 1: 1},)),  # integers
        (cell(cell(row(1)), cell(row(2))).T, ({0: 1}, {1: 1})),  # N×1 or 1×N alike
        (np.empty((0, 0), dtype=object), ()),  # no images
    ],
    ids=["bare", "one-rect", "wrapped", "empty", "empty-group", "column", "uint8", "1xN", "none"],
)
def test_collapsed_and_other_shapes_read_as_matlab_indexes_them(groups, expected):
    assert parse_groups(raw(groups), SOURCE) == expected


@pytest.mark.parametrize(
    "data, index, expected",
    [
        (b"", None, "not a MATLAB 5 .mat file"),
        (mat_bytes({"groupz": cell()}), None, "no variable 'groups' (MPII's groups_v12.mat holds one); found groupz"),
        (raw(row(1, 2)), None, "groups: expected a cell with one entry per image, got an array of float64 of shape (1, 2)"),
        (groups_mat([[[1]]] * 3), None, "groups: must hold one entry per image of RELEASE.annolist (2), got 3: use the groups_v12.mat of this mpii_human_pose_v1_u12_1.mat"),
        (groups_mat([[], [[1], [2, 1.5]]]), 1, "groups{2}{2}: expected rect numbers (whole numbers from 1, indices into the image's annorect), got 1.5"),
        (groups_mat([[[0, 1]], []]), 0, "groups{1}{1}: expected rect numbers (whole numbers from 1, indices into the image's annorect), got 0"),
        (groups_mat([[[-2]], []]), 0, "groups{1}{1}: expected rect numbers (whole numbers from 1, indices into the image's annorect), got -2"),
        (groups_mat([[], [[np.nan]]]), 1, "groups{2}{1}: expected rect numbers (whole numbers from 1, indices into the image's annorect), got nan"),
        (raw(cell(row(1), row(0.5))), 1, "groups{2}: expected rect numbers (whole numbers from 1, indices into the image's annorect), got 0.5"),
        (raw(cell(cell(row(1), "3"), cell())), 0, "groups{1}{2}: expected a group's rect numbers (1, 2, ...), got '3'"),
        (raw(cell(cell(), cell(row(1), STRUCT))), 1, "groups{2}{2}: expected a group's rect numbers (1, 2, ...), got a struct array of shape (1, 1)"),
        (groups_mat([[[1, 2], [3], [4, 2]], []]), 0, "groups{1}{3}: rect 2 is in groups{1}{1} too; a person belongs to at most one group of its image"),
        (groups_mat([[], [[3, 1, 3]]]), 1, "groups{2}{1}: lists rect 3 twice"),
        (raw(cell(cell(), row(2, 2))), 1, "groups{2}: lists rect 2 twice"),
    ],
    ids=[
        "not-mat", "no-variable", "not-a-cell", "image-count", "fraction", "zero", "negative",
        "nan", "bare-fraction", "text", "struct", "two-groups", "twice", "bare-twice",
    ],
)  # fmt: skip
def test_a_malformed_file_is_refused_naming_the_file_and_the_group(data, index, expected):
    with pytest.raises(GroupsFormatError) as info:
        parse_groups(data, SOURCE, image_count=2)
    assert str(info.value).startswith(f"{SOURCE}: {expected}")  # and scipy's reason, not a .mat
    assert info.value.index == index and info.value.path == SOURCE


def test_the_error_is_an_annotation_error_that_survives_pickling():
    with pytest.raises(AnnotationError) as info:
        parse_groups(groups_mat([[[1], [1]]]), SOURCE)
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is GroupsFormatError and str(again) == str(info.value)
    assert (again.path, again.index, again.where, again.problem) == (
        SOURCE,
        0,
        "groups{1}{2}",
        "rect 1 is in groups{1}{1} too; a person belongs to at most one group of its image",
    )
