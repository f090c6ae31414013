"""SIGTERM and SIGHUP handled as Ctrl-C is: raised where the program is, so that it unwinds.

`timeout`, systemd, Slurm and Kubernetes stop a program with SIGTERM, a closed terminal sends
SIGHUP. Python's default for both ends the process at once, leaving TFDS's temporary folders and
an engine's workers behind; raised as an exception instead, they run every engine's clean-up (Ray's
local cluster shut down, Beam's workers stopped) and TFDS's removal of `incomplete.*` folders.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGHUP)
_LOG = logging.getLogger(__name__)


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by SIGTERM or SIGHUP.

    A KeyboardInterrupt, so that code which stops cleanly on Ctrl-C (Ray's waits, TFDS's writers,
    this package's engines) does the same here. Such code may re-raise it as a plain
    KeyboardInterrupt (Ray does): `Received` keeps which signal it was.
    """

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclasses.dataclass
class Received:
    """The signal that stopped the block, if one did."""

    signum: int | None = None

    @property
    def exit_code(self) -> int:
        """The shell's code for a process ended by the signal (130 for Ctrl-C, 143 for SIGTERM,
        129 for SIGHUP)."""
        return 128 + (self.signum or signal.SIGINT)


@contextlib.contextmanager
def signals_interrupt(signums: tuple[signal.Signals, ...] = SIGNALS) -> Iterator[Received]:
    """Within the block, `signums` (SIGTERM and SIGHUP) raise `Terminated`; repeats are ignored
    while it unwinds, so that a second signal cannot cut the clean-up short. Yields what was
    received."""
    received = Received()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        for other in signums:
            signal.signal(other, signal.SIG_IGN)
        received.signum = signum
        raise Terminated(signum)

    previous = {signum: signal.signal(signum, interrupt) for signum in signums}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def cleaned_up_on_signals(what: str) -> Iterator[None]:
    """For a library call that the caller did not prepare for signals (`tfds build`,
    `tfds.load`): SIGTERM and SIGHUP that would end the process at once unwind the block instead,
    then end it as they would have, with the caller's handlers back (exit status 143 or 129).

    Only signals left at their default are taken, so a caller's own handler, or an ignored
    signal, is kept; only the main thread can set handlers, elsewhere nothing changes. `what`
    names the block in the line logged before the process ends.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    defaults = tuple(s for s in SIGNALS if signal.getsignal(s) == signal.SIG_DFL)
    if not defaults:
        yield
        return
    received = Received()
    try:
        with signals_interrupt(defaults) as received:
            yield
    except BaseException:  # Terminated, or what a library made of it (Ray: KeyboardInterrupt)
        if received.signum is not None:
            name = signal.Signals(received.signum).name
            _LOG.warning("%s stopped by %s; nothing was left half-written", what, name)
            sys.stdout.flush()
            sys.stderr.flush()
            for signum in defaults:  # as the caller had them, even if a repeat came in between
                signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(received.signum)  # the default: the process ends here
        raise


@contextlib.contextmanager
def handlers_kept() -> Iterator[None]:
    """Puts back this process's Python handlers of SIGINT, SIGTERM and SIGHUP after the block, for
    libraries that install their own (Ray's driver handles SIGTERM by dying at once)."""
    if threading.current_thread() is not threading.main_thread():  # only it can set handlers
        yield
        return
    kept = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, *SIGNALS)}
    try:
        yield
    finally:
        for signum, handler in kept.items():
            if handler is not None:
                signal.signal(signum, handler)
