"""The body-frame palette (``colouring="body"``): one colour per object-frame normal, shared by all objects."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import envs  # noqa: F401  (registers the ids)
from envs.datasets.objects3d import COLOURINGS, body_palette, make_objects
from envs.render.mesh_renderer import quat_to_matrix


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1)), min_size=1, max_size=20))
def test_palette_is_bright_and_follows_the_normal(vectors: list) -> None:
    n = np.asarray(vectors, np.float64)
    n = n[np.linalg.norm(n, axis=1) > 1e-3]
    if not len(n):
        return
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    c = body_palette(n)
    assert c.dtype == np.uint8 and c.shape == n.shape
    assert c.min() >= 70  # no face is dark before shading
    np.testing.assert_allclose(c, 70 + 92.5 * (1 + n), atol=0.51)


def test_opposite_faces_differ() -> None:
    axes = np.concatenate([np.eye(3), -np.eye(3)])
    colours = {tuple(c) for c in body_palette(axes)}
    assert len(colours) == 6


def test_body_objects_share_shapes_with_random_ones_and_colour_by_normal() -> None:
    body, rand = make_objects(12, seed=3, colouring="body"), make_objects(12, seed=3)
    for b, r in zip(body, rand):
        np.testing.assert_array_equal(b.vertices, r.vertices)  # the same shapes and stretches
        np.testing.assert_array_equal(b.faces, r.faces)
        np.testing.assert_array_equal(b.colors, body_palette(b.normals))
    # one palette: two cuboids' faces with the same normal have the same colour
    cubes = [m for m in body if m.name == "cuboid"]
    up = [m.colors[np.argmax(m.normals[:, 2])] for m in cubes]
    np.testing.assert_array_equal(up[0], up[1])


def test_pose_is_visible_and_orientation_changes_the_colours() -> None:
    env = gym.make("Rotation3D-Shapes-v0", n_objects=1, image_size=24, colouring="body")
    _, info = env.reset(seed=0, options={"rotation": [1.0, 0.0, 0.0, 0.0], "index": 0})
    a = env.unwrapped.view.copy()
    env.step(np.array([0.0, 1.0, 0.0], np.float32))  # a quarter turn about y (max_angle pi/2)
    b = env.unwrapped.view.copy()
    assert np.abs(a.astype(int) - b.astype(int)).sum() > 0
    assert np.allclose(np.linalg.det(quat_to_matrix(info["rotation"])), 1.0)
    env.close()


def test_bad_colouring_is_named() -> None:
    assert COLOURINGS == ("random", "body")
    with pytest.raises(ValueError, match="colouring must be one of"):
        gym.make("Rotation3D-Shapes-v0", n_objects=1, image_size=16, colouring="grey")
    with pytest.raises(ValueError, match="colouring must be one of"):
        make_objects(2, colouring="Body")
