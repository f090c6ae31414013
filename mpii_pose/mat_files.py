"""MATLAB .mat files written reproducibly, for the bundled sample and tests."""

from __future__ import annotations

import io
from typing import Any

# MAT 5 files start with 116 bytes of text that scipy fills with the time of writing.
_HEADER = b"MATLAB 5.0 MAT-file, written by mpii_pose".ljust(116)


def mat_bytes(arrays: dict[str, Any], compress: bool = False) -> bytes:
    """`arrays` saved by scipy as a MAT 5 file whose header carries no time: equal input, equal bytes."""
    from scipy.io import savemat

    out = io.BytesIO()
    savemat(out, arrays, do_compression=compress)
    data = out.getvalue()
    return _HEADER + data[len(_HEADER) :]
