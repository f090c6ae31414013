"""The builder's signal policy for callers that did not prepare for signals (`tfds build`,
`tfds.load`): only default dispositions are taken, only in the main thread, and put back after."""

import signal
import subprocess
import sys
import threading

from mpii_pose.base.interruption import SIGNALS, cleaned_up_on_signals
from tests.helpers import ENV


def test_default_handlers_are_taken_for_the_block_and_put_back():
    previous = {s: signal.signal(s, signal.SIG_DFL) for s in SIGNALS}
    try:
        with cleaned_up_on_signals("the block"):
            assert all(callable(signal.getsignal(s)) for s in SIGNALS)
        assert all(signal.getsignal(s) == signal.SIG_DFL for s in SIGNALS)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def test_a_callers_handler_and_an_ignored_signal_are_kept():
    def own(signum, frame):  # pragma: no cover - never called
        raise AssertionError("not sent")

    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, own),
        signal.SIGHUP: signal.signal(signal.SIGHUP, signal.SIG_IGN),
    }
    try:
        with cleaned_up_on_signals("the block"):
            assert signal.getsignal(signal.SIGTERM) is own
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def test_outside_the_main_thread_nothing_changes():
    previous = {s: signal.signal(s, signal.SIG_DFL) for s in SIGNALS}
    seen = []

    def block() -> None:
        with cleaned_up_on_signals("the block"):
            seen.append(signal.getsignal(signal.SIGTERM))

    try:
        thread = threading.Thread(target=block)
        thread.start()
        thread.join(timeout=30)
        assert seen == [signal.SIG_DFL]
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


_PROGRAM = """
import os, signal, sys
from mpii_pose.base.interruption import cleaned_up_on_signals
with cleaned_up_on_signals("the block"):
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pause()  # the handler raises before this returns
    finally:
        print("cleaned up", flush=True)
print("not reached", flush=True)
"""


def test_a_signal_unwinds_the_block_then_ends_the_process_as_it_would_have():
    result = subprocess.run(
        [sys.executable, "-c", _PROGRAM], env=ENV, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == -signal.SIGTERM
    assert result.stdout == "cleaned up\n"
    assert "the block stopped by SIGTERM; nothing was left half-written" in result.stderr
