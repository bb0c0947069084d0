"""Speed benchmarks, printed as ratios against a baseline or a peer measured in the same run."""
