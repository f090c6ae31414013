"""Which writer a build runs, and why: the one asked for, `$MPII_POSE_ENGINE`, Beam options, or
the automatic choice (Ray for large builds on 4 or more CPUs, else in-process).

Every entry point (`mpii-pose build`, `tfds build mpii_pose`, `tfds.load('mpii_pose')`) goes
through here, so that one input gives one set of bytes whatever the entry point; "tfds" keeps
TFDS's own writer, for comparison and for the file formats the engines do not write.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from mpii_pose.base.errors import MpiiPoseError
from mpii_pose.engines import ENGINES, Engine, make_engine
from mpii_pose.shards.write import FILE_WRITERS

if TYPE_CHECKING:
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.runner import PipelineRunner

ENV_VAR = "MPII_POSE_ENGINE"
TFDS_WRITER = "tfds"
# Every writer a build may run, and how it writes: the engines, and TFDS's own writer.
WRITERS: dict[str, str] = {**ENGINES, TFDS_WRITER: "TFDS's own writer"}
# Ray's start and stop cost seconds; below this many examples, or on fewer CPUs, the in-process
# engine finishes first (benchmarks/README.md).
RAY_MIN_EXAMPLES = 10_000
RAY_MIN_CPUS = 4
# What the engines write; other formats are TFDS's writer's.
ENGINE_FORMATS: tuple[str, ...] = tuple(FILE_WRITERS)


class EngineChoiceError(MpiiPoseError):
    """An unknown engine name, or an engine asked to write a format it does not write."""


@dataclasses.dataclass(frozen=True)
class Choice:
    """The engine that writes the shards (None: TFDS's own writer) and why it was chosen."""

    engine: Engine | None
    reason: str

    @property
    def name(self) -> str:
        return self.engine.name if self.engine else TFDS_WRITER


def checked_name(name: str, why: str = "requested") -> str:
    """`name` if it names a writer; otherwise an error listing the names."""
    if name not in WRITERS:
        raise EngineChoiceError(
            f"unknown engine {name!r} ({why}); choose one of {', '.join(WRITERS)}"
        )
    return name


def available_cpus() -> int:
    """CPUs this process may run on (a container's or taskset's share, not the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def requested(
    engine: Engine | str | None, environ: Mapping[str, str] = os.environ
) -> tuple[Engine | str, str] | None:
    """The engine (or writer name) asked for, by the caller or `$MPII_POSE_ENGINE`, and how."""
    if engine is not None:
        return (checked_name(engine) if isinstance(engine, str) else engine), "requested"
    value = environ.get(ENV_VAR, "").strip()
    if value:
        why = f"{ENV_VAR}={value}"
        return checked_name(value.lower(), why), why
    return None


def check_format(
    engine: Engine | str | None, file_format: str, environ: Mapping[str, str] = os.environ
) -> None:
    """Fails before any work when the engine asked for does not write `file_format`."""
    asked = requested(engine, environ)
    if asked is not None:
        name = asked[0] if isinstance(asked[0], str) else asked[0].name
        _check_writes(name, asked[1], file_format)


def choose(
    engine: Engine | str | None,
    *,
    examples: int,
    file_format: str,
    beam_options: PipelineOptions | None = None,
    beam_runner: PipelineRunner | None = None,
    environ: Mapping[str, str] = os.environ,
    cpus: int | None = None,
) -> Choice:
    """The writer for a build of `examples` examples in `file_format`.

    In order: `engine` (an engine, or a name in WRITERS); `$MPII_POSE_ENGINE`; the project's
    Beam engine when TFDS was given Beam options (`tfds build --beam_pipeline_options`); TFDS's
    writer for formats the engines do not write (ENGINE_FORMATS); Ray for at least RAY_MIN_EXAMPLES examples on
    RAY_MIN_CPUS CPUs or more; else the in-process engine.
    """
    beam = beam_options is not None or beam_runner is not None
    asked = requested(engine, environ)
    if asked is None:
        if beam:
            asked = "beam", "Beam pipeline options given"
        elif file_format not in ENGINE_FORMATS:
            return Choice(None, f"automatic: {file_format} shards are written by TFDS's writer")
        else:
            asked = _automatic(examples, cpus or available_cpus())
    writer, why = asked
    if not isinstance(writer, str):
        _check_writes(writer.name, why, file_format)
        return Choice(writer, why)
    if writer == TFDS_WRITER:
        return Choice(None, why)
    _check_writes(writer, why, file_format)
    if writer == "beam" and beam:
        from mpii_pose.engines.beam_engine import BeamEngine

        return Choice(BeamEngine(beam_options, beam_runner), why)
    return Choice(make_engine(writer), why)


def _automatic(examples: int, cpus: int) -> tuple[str, str]:
    """Ray when it pays for its start-up, else in-process; with the reason, numbers included."""
    where = f"{examples:,} examples on {cpus} CPU{'s' if cpus != 1 else ''}"
    if examples >= RAY_MIN_EXAMPLES and cpus >= RAY_MIN_CPUS:
        return "ray", f"automatic: {where}"
    return "local", (
        f"automatic: {where}; Ray from {RAY_MIN_EXAMPLES:,} examples on {RAY_MIN_CPUS} CPUs"
    )


def _check_writes(name: str, why: str, file_format: str) -> None:
    """Fails unless the engine called `name` writes `file_format`."""
    if name != TFDS_WRITER and file_format not in ENGINE_FORMATS:
        raise EngineChoiceError(
            f"the {name} engine ({why}) writes {' and '.join(ENGINE_FORMATS)} shards; build "
            f"{file_format} with TFDS's writer (--engine {TFDS_WRITER}, or "
            f"{ENV_VAR}={TFDS_WRITER})"
        )
