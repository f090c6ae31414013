"""The sources layer: what a split is built from (manual directory, downloads, the JSON, head
boxes, the official .mat), read and checked before anything is written, and a build's record.

`load_sources` and `SplitSource` are the layer's face (`mpii_pose.sources.load_sources`)."""

from mpii_pose.sources.assembly import SplitSource, load_sources

__all__ = ["SplitSource", "load_sources"]
