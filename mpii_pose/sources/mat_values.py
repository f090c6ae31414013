"""Values of a MATLAB .mat file as `scipy.io.loadmat(squeeze_me=False, struct_as_record=True)`
gives them: every value an array, a struct array a record array, nothing a 0×0 array. Shared by
the readers of MPII's .mat files (the official annotations, submissions)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

# MAT 5 files start with 116 bytes of text that scipy fills with the time of writing.
_HEADER = b"MATLAB 5.0 MAT-file, written by mpii_pose".ljust(116)


class NotAMatFile(ValueError):
    """Bytes scipy cannot read as a MATLAB 5 .mat file."""


def load_mat(data: bytes) -> dict[str, Any]:
    """The variables of a MATLAB 5 .mat file in the form above; NotAMatFile says why not."""
    from scipy.io import loadmat

    try:
        return loadmat(io.BytesIO(data), squeeze_me=False, struct_as_record=True)
    except Exception as err:  # scipy raises ValueError, TypeError, NotImplementedError or its own
        raise NotAMatFile(f"not a MATLAB 5 .mat file ({err})") from None


def empty(value: Any) -> bool:
    """MATLAB's nothing: a field the struct lacks (None) or an empty array."""
    return value is None or (isinstance(value, np.ndarray) and value.size == 0)


def field(struct: np.void, name: str) -> Any:
    """Field `name` of one struct element; None when the struct has no such field."""
    return struct[name] if name in (struct.dtype.names or ()) else None


def describe(value: Any) -> str:
    """A short description of a loaded MATLAB value, for error messages."""
    if not isinstance(value, np.ndarray):
        return "nothing" if value is None else repr(value)
    if value.dtype.names is not None:
        return f"a struct array of shape {value.shape}"
    if value.size == 1 and value.dtype.kind in "biufU":
        return repr(value.ravel()[0].item())
    if value.dtype.kind == "O" and value.size == 1:
        return describe(value.ravel()[0])
    kind = {"U": "strings", "O": "a cell"}.get(value.dtype.kind, str(value.dtype))
    return f"an array of {kind} of shape {value.shape}"


def mat_bytes(arrays: dict[str, Any], compress: bool = False) -> bytes:
    """`arrays` saved by scipy as a MAT 5 file whose header carries no time: equal input, equal
    bytes."""
    from scipy.io import savemat

    out = io.BytesIO()
    savemat(out, arrays, do_compression=compress)
    data = out.getvalue()
    return _HEADER + data[len(_HEADER) :]


def image_name(entry: np.void) -> str | None:
    """annolist(i).image.name, None when the entry does not say."""
    image = field(entry, "image")
    if empty(image) or image.dtype.names is None:
        return None
    name = field(image.ravel()[0], "name")
    return None if empty(name) or name.dtype.kind != "U" else str(name.ravel()[0])


def has_objpos(rect: np.void) -> bool:
    """Whether an annorect has an objpos: MPII's evaluation (`flatten_annolist`) scores only
    those, and pairs a submission's rects with the ground truth's by their order among them."""
    return not empty(field(rect, "objpos"))
