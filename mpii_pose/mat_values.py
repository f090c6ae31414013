"""Values of a MATLAB .mat file as `scipy.io.loadmat(squeeze_me=False, struct_as_record=True)`
gives them: every value an array, a struct array a record array, nothing a 0×0 array. Shared by
the readers of MPII's .mat files (the official annotations, submissions)."""

from __future__ import annotations

from typing import Any

import numpy as np


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
