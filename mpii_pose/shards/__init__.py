"""The shards layer: the shard plan (TFDS's order and boundaries) and the writing of one shard
file from one task: a person's example, its image bytes, the Example encoder, the TFRecord and
ArrayRecord files, and the count of what was written. Without TensorFlow."""
