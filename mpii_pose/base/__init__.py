"""The base layer: error types, the skeleton, signals, the build lock, log filters, TensorFlow's
quiet start. Imports nothing else of the package."""
