"""Reference RL agents on the tasks of this package (``python -m experiments.rl``)."""
