"""TensorFlow imported for the command line without the notices it prints on every start.

TensorFlow 2.21 writes its start-up notices (oneDNN, CPU instructions, "Could not find cuda
drivers") straight to file descriptor 2 before its log level takes effect, and on a machine
without a GPU driver logs "failed call to cuInit" as an ERROR when it first looks for devices. A new
user reads them as errors. They are captured while TensorFlow starts; every other line it printed
(other ERROR and FATAL lines, Python's warnings) is passed on to stderr.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator

LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"
_GLOG = re.compile(r"^(?P<level>[IWEF])\d{4} ")  # C++ log lines: level, month, day, ...
_ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called"
_NO_DRIVER = "Could not find cuda drivers"
_CUINIT = "failed call to cuInit"


def import_tensorflow() -> None:
    """Imports TensorFlow and lets it find its devices without its start-up notices, unless the
    user set TF_CPP_MIN_LOG_LEVEL (then TensorFlow prints what the user asked for)."""
    if "tensorflow" in sys.modules or LEVEL_ENV in os.environ:
        return
    os.environ[LEVEL_ENV] = "2"  # INFO and WARNING from now on; ERRORs still show
    with _stderr_filtered(without_start_up_notices):
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")  # where cuInit runs


def without_start_up_notices(text: str) -> str:
    """`text` without C++ INFO and WARNING lines (and their continuation lines), absl's notice,
    and the cuInit failure that follows "Could not find cuda drivers"."""
    no_driver = _NO_DRIVER in text
    kept, dropping = [], False
    for line in text.splitlines(keepends=True):
        match = _GLOG.match(line)
        if match:
            level = match["level"]
            dropping = level in "IW" or (level == "E" and no_driver and _CUINIT in line)
        elif line.startswith(_ABSL_NOTICE):
            dropping = True
        if not dropping:  # a line without a level belongs to the message before it
            kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def _stderr_filtered(keep: Callable[[str], str]) -> Iterator[None]:
    """Captures file descriptor 2 during the block, then writes what `keep` keeps of it."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            sys.stderr.write(keep(capture.read().decode(errors="replace")))
            sys.stderr.flush()
