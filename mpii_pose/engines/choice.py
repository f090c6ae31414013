"""Which engine a build runs, and why, decided here alone: the one asked for, an engine's own
options, `$MPII_POSE_ENGINE`, Beam options, the file format, else the automatic choice (Ray for
large builds on 4 or more CPUs, else in-process).

Every entry point (`mpii-pose build`, `tfds build mpii_pose`, `tfds.load('mpii_pose')`) goes
through here, so that one input gives one set of bytes whatever the entry point.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from mpii_pose.base import settings
from mpii_pose.base.errors import MpiiPoseError
from mpii_pose.engines import (
    ENGINES,
    NO_OPTIONS,
    Engine,
    EngineOptions,
    available_cpus,
    make_engine,
)
from mpii_pose.shards.write import FILE_WRITERS

if TYPE_CHECKING:
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.runner import PipelineRunner

TFDS_WRITER = "tfds"
# Ray's start and stop cost seconds; below this many examples, or on fewer CPUs, the in-process
# engine finishes first (benchmarks/README.md).
RAY_MIN_EXAMPLES = 10_000
RAY_MIN_CPUS = 4
# What the shard engines write; other formats are TFDS's writer's.
ENGINE_FORMATS: tuple[str, ...] = tuple(FILE_WRITERS)


class EngineChoiceError(MpiiPoseError):
    """An unknown engine name, options of another engine, or an engine asked to write a format
    it does not write."""


@dataclasses.dataclass(frozen=True)
class Request:
    """What the caller asked for: an engine by name, or a ready engine (e.g. one of its own), or
    neither (then `$MPII_POSE_ENGINE` or the automatic choice); and the engines' options."""

    name: str | None = None
    engine: Engine | None = None
    options: EngineOptions = NO_OPTIONS

    @classmethod
    def of(cls, engine: Engine | str | None, options: EngineOptions = NO_OPTIONS) -> Request:
        """The request of a builder's `engine=` argument: a name is checked at once."""
        if isinstance(engine, str):
            return cls(name=checked_name(engine), options=options)
        return cls(engine=engine, options=options)


@dataclasses.dataclass(frozen=True)
class Choice:
    """The engine that writes the shards and why it was chosen."""

    engine: Engine
    reason: str


def checked_name(name: str, why: str = "requested") -> str:
    """`name` if it names an engine; otherwise an error listing the names."""
    if name not in ENGINES:
        raise EngineChoiceError(
            f"unknown engine {name!r} ({why}); choose one of {', '.join(ENGINES)}"
        )
    return name


def asked(request: Request, env: settings.Settings) -> tuple[str, str] | None:
    """The engine's name asked for and how (by name, by its options, by `$MPII_POSE_ENGINE`),
    None when nothing asks for one; an error for options given to another engine."""
    implied = request.options.engine()
    name = request.engine.name if request.engine else request.name
    if name is not None:
        # TFDS's writer takes Beam options too: it then runs TFDS's Beam writer.
        if implied not in (None, name) and (name, implied) != (TFDS_WRITER, "beam"):
            raise EngineChoiceError(
                f"the {name} engine was asked for, with options of the {implied} engine "
                f"({_given(request.options)})"
            )
        return name, "requested"
    if implied is not None:
        return implied, f"{_given(request.options)} given"
    if env.engine:
        why = f"{settings.ENGINE}={env.engine}"
        return checked_name(env.engine, why), why
    return None


def check_format(request: Request, env: settings.Settings, file_format: str) -> None:
    """Fails before any work when the engine asked for does not write `file_format`."""
    named = asked(request, env)
    if named is not None:
        _check_writes(*named, file_format)


def choose(
    request: Request,
    env: settings.Settings,
    *,
    examples: int,
    file_format: str,
    beam_options: PipelineOptions | None = None,
    beam_runner: PipelineRunner | None = None,
    cpus: int | None = None,
) -> Choice:
    """The engine for a build of `examples` examples in `file_format`.

    In order: the engine or name of `request`; the engine its options belong to (`workers` or
    `address`: Ray; `beam_pipeline_options`: Beam); `$MPII_POSE_ENGINE`; the Beam engine when
    TFDS was given Beam options (`tfds build --beam_pipeline_options`); TFDS's writer for formats
    the shard engines do not write (ENGINE_FORMATS); Ray for at least RAY_MIN_EXAMPLES examples on
    RAY_MIN_CPUS CPUs or more; else the in-process engine.
    """
    beam = beam_options is not None or beam_runner is not None
    named = asked(request, env)
    if named is None:
        if beam:
            named = "beam", "Beam pipeline options given"
        elif file_format not in ENGINE_FORMATS:
            named = TFDS_WRITER, f"automatic: {file_format} shards are written by TFDS's writer"
        else:
            named = _automatic(examples, cpus or available_cpus())
    name, why = named
    _check_writes(name, why, file_format)
    if request.engine is not None:
        return Choice(request.engine, why)
    if beam and name == "beam" and not request.options.beam_pipeline_options:
        from mpii_pose.engines.beam_engine import BeamEngine

        return Choice(BeamEngine(beam_options, beam_runner), why)
    if beam and name == TFDS_WRITER and not request.options.beam_pipeline_options:
        from mpii_pose.engines.tfds_engine import TfdsEngine

        return Choice(TfdsEngine(beam_options, beam_runner), why)
    options = request.options
    if name == "ray" and not options.address and env.ray_address:
        options = dataclasses.replace(options, address=env.ray_address)
    return Choice(make_engine(name, options), why)


def _given(options: EngineOptions) -> str:
    """The options set, as `mpii-pose build` spells them."""
    return ", ".join(
        f"--{field.name} {getattr(options, field.name)}"
        for field in dataclasses.fields(options)
        if getattr(options, field.name)
    )


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
            f"{settings.ENGINE}={TFDS_WRITER})"
        )
