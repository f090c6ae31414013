"""Library warnings left out while the package's own calls run, and only those."""

import logging

from mpii_pose.base.log_filters import without_messages


def test_only_the_named_messages_of_the_named_logger_are_left_out_and_only_in_the_block(caplog):
    logger = logging.getLogger("tests.library")
    with caplog.at_level(logging.WARNING), without_messages("tests.library", "noise:", "chatter"):
        logger.warning("noise: %s", "left out")
        logger.warning("chatter, left out")
        logger.warning("a real warning: noise: kept")
        logging.getLogger("tests.other").warning("noise: from another logger, kept")
    logger.warning("noise: after the block, kept")
    assert caplog.messages == [
        "a real warning: noise: kept",
        "noise: from another logger, kept",
        "noise: after the block, kept",
    ]
