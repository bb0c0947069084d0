"""Gymnasium environments of the saccade simulator (registration added with the envs)."""
