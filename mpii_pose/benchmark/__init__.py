"""MPII's benchmark: predictions read and checked, the submission file MPII's evaluation reads,
and its score computed as MPII's code computes it."""
