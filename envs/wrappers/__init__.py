"""Wrappers for outside libraries: the observation layout of Stable-Baselines3 (``observation``) and
ap_gym's active-perception protocol for the recognition ids (``active_perception``)."""
