"""The interactive pygame viewer (``saccade-view``, ``python -m experiments.viewer``)."""
