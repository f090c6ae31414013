"""Readers of a build for training: the tf.data pipeline and its numpy twin, Grain batches,
PCKh as HRNet computes it, pictures. They import only the base and sources layers."""
