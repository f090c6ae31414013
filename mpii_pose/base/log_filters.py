"""Library warnings a user cannot act on, left out where this package's own calls cause them.

Each is dropped by its opening words, from one logger, only while the call that causes it runs:
the same message from anywhere else, and every other message, still shows.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

# TFDS 4.9.10 decodes every bytes-encoded Tensor feature (joints, center, scale, head_box) by
# reading the `dtype` property it deprecated (tensor_feature.py, decode_example), logging this
# through absl's logger: a warning about TFDS's own code.
TFDS_DTYPE_DEPRECATED = "`FeatureConnector.dtype` is deprecated"
# Beam's import logs this through the root logger when the optional BigQuery client (apitools)
# is not installed; the Beam engine uses no BigQuery.
BEAM_NO_APITOOLS = "apitools not found, and bigquery client libraries are not available"


@contextlib.contextmanager
def without_messages(logger: str, *openings: str) -> Iterator[None]:
    """Drops the records of `logger` ("" for the root logger) whose message starts with one of
    `openings`, during the block. The logger must exist already (absl's is made by absl)."""

    def keep(record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(openings)

    target = logging.getLogger(logger)
    target.addFilter(keep)
    try:
        yield
    finally:
        target.removeFilter(keep)
