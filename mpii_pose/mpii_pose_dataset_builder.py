"""TFDS builder for MPII Human Pose: one example per annotated person, from the HRNet/mmpose JSON."""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds
from tensorflow_datasets.core import split_builder as split_builder_lib
from tensorflow_datasets.core import splits as splits_lib

from mpii_pose import examples, manual_dir
from mpii_pose.example_writer import DeterministicExampleWriter
from mpii_pose.sharding import SplitShardConfig
from mpii_pose.skeleton import NUM_JOINTS

_HOMEPAGE = "http://human-pose.mpi-inf.mpg.de/"


class Builder(tfds.core.GeneratorBasedBuilder):
    """MPII Human Pose, one example per annotated person; splits `train` and `validation`."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {
        "1.0.0": "Initial release: one example per annotated person, 64 train / 8 validation "
        "shards, raw MATLAB 1-based joints, byte-reproducible shards.",
    }
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    Put into the manual directory (`--manual_dir`, by default
    `<data_dir>/downloads/manual/`):

    * `images/`: the MPII images. Download
      https://datasets.d2.mpi-inf.mpg.de/andriluka14cvpr/mpii_human_pose_v1.tar.gz
      (12 GB; sha256 in checksums.tsv) and unpack it in the manual directory; it
      creates `images/` with 24,984 JPEGs.
    * The HRNet/mmpose JSON annotations, one entry per person:
      - HRNet's `train.json` and `valid.json` (or `validation.json`), from the
        `mpii/annot/` folder of HRNet's data release
        (https://github.com/leoxiaobin/deep-high-resolution-net.pytorch#data-preparation), or
      - mmpose's `mpii_train.json` and `mpii_val.json`, from
        https://download.openmmlab.com/mmpose/datasets/mpii_annotations.tar
      They may sit at the top of the manual directory or in `annot/`,
      `annotations/` or `mpii_human_pose_v1_u12_2/`; exactly one file per split.

    Layout example:
        manual_dir/images/000001163.jpg ...
        manual_dir/annot/train.json
        manual_dir/annot/valid.json
    """

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(
                        shape=(None, None, 3),
                        encoding_format="jpeg",
                        doc="The whole MPII image, RGB JPEG.",
                    ),
                    "filename": tfds.features.Text(doc="Image path relative to images/."),
                    "joints": tfds.features.Tensor(
                        shape=(NUM_JOINTS, 2),
                        dtype=np.float32,
                        doc="(x, y) per joint in MPII order, MATLAB 1-based pixels as in the "
                        "JSON; [-1, -1] when not labelled.",
                    ),
                    "visibility": tfds.features.Tensor(
                        shape=(NUM_JOINTS,),
                        dtype=np.bool_,
                        doc="The JSON's joints_vis: True when the joint is labelled (occluded "
                        "joints included), False when missing.",
                    ),
                    "center": tfds.features.Tensor(
                        shape=(2,),
                        dtype=np.float32,
                        doc="MPII objpos (x, y): a rough body position, 1-based pixels.",
                    ),
                    "scale": tfds.features.Scalar(
                        dtype=np.float32, doc="MPII scale: person height is about 200 * scale px."
                    ),
                    "annotation_index": tfds.features.Scalar(
                        dtype=np.int64, doc="Position of the person's entry in its JSON, from 0."
                    ),
                    "person_index": tfds.features.Scalar(
                        dtype=np.int32,
                        doc="Position among the persons of the same image in the JSON, from 0.",
                    ),
                }
            ),
            homepage=_HOMEPAGE,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        sources = manual_dir.load_sources(dl_manager.manual_dir)
        return {split: self._generate_examples(source) for split, source in sources.items()}

    def _generate_examples(self, source: manual_dir.SplitSource):
        yield from examples.generate_examples(source)

    def _example_writer(self) -> DeterministicExampleWriter:
        return DeterministicExampleWriter(file_format=self.info.file_format)

    def _download_and_prepare(self, dl_manager, download_config) -> None:
        """Writes each split with its own shard count (TFDS's `num_shards` applies to all splits)."""
        if download_config.max_examples_per_split == 0:
            return
        split_infos = []
        for split, generator in self._split_generators(dl_manager).items():
            split_builder = split_builder_lib.SplitBuilder(
                split_dict=self.info.splits,
                features=self.info.features,
                dataset_size=self.info.dataset_size,
                max_examples_per_split=download_config.max_examples_per_split,
                beam_options=download_config.beam_options,
                beam_runner=download_config.beam_runner,
                shard_config=SplitShardConfig(num_shards=download_config.num_shards, split=split),
                example_writer=self._example_writer(),
                ignore_duplicates=download_config.ignore_duplicates,
            )
            future = split_builder.submit_split_generation(
                split_name=split,
                generator=generator,
                filename_template=self._get_filename_template(split_name=split),
                disable_shuffling=self.info.disable_shuffling,
                nondeterministic_order=download_config.nondeterministic_order,
            )
            split_infos.append(future.result())
        self.info.set_splits(splits_lib.SplitDict(split_infos))
