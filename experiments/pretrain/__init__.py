"""The pretraining job: config, data, train loop, checkpoints and presets (``configs/*.yaml``).

``saccade-pretrain`` and ``python -m experiments.pretrain`` run :func:`experiments.pretrain.cli.cli`.
"""
