"""The dataset's two configs: one example per person (the default) or per image."""

from __future__ import annotations

PER_PERSON = "per_person"
PER_IMAGE = "per_image"
CONFIGS: dict[str, str] = {
    PER_PERSON: "One example per annotated person, with the whole image (stored once per "
    "person); the default, for top-down training and evaluation.",
    PER_IMAGE: "One example per image, with every person of the image in `persons` (the "
    "official .mat's unannotated ones too, `annotated` False), each image stored once; for "
    "multi-person (bottom-up) training, and top-down training through a flat map.",
}

# What a config's examples are, for messages ("the first 100 persons").
UNITS: dict[str, str] = {PER_PERSON: "persons", PER_IMAGE: "images"}
