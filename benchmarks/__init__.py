"""critmin benchmarks: each runs a naive baseline and critmin in the same run."""
