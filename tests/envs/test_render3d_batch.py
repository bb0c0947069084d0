"""Batched rasteriser: MeshBank packing, render_batch == a loop of render bit for bit, errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.datasets.objects3d import make_objects
from envs.render.mesh_renderer import Mesh, MeshBank, Renderer, random_quaternion, so3_exp

MESHES = make_objects(10, seed=4)
BANK = MeshBank(MESHES)
SIZE = 24

# quaternions from anywhere in R^4 minus a ball around 0, plus the awkward ones: the identity,
# half turns (w = 0), a non-canonical sign, and rotations a hair away from the identity
coord = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
generic = st.tuples(coord, coord, coord, coord).filter(lambda q: np.linalg.norm(q) > 1e-3)
special = st.sampled_from([(1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 0.0, -1.0), (-0.5, 0.5, -0.5, 0.5),
                           tuple(so3_exp(np.array([1e-7, 0.0, 2e-7])))])
items = st.lists(st.tuples(st.integers(0, len(MESHES) - 1), st.one_of(generic, special)), min_size=1, max_size=12)


@pytest.mark.parametrize("projection", ["perspective", "orthographic"])
@pytest.mark.parametrize("supersample", [1, 2])
@settings(max_examples=25, deadline=None)
@given(batch=items)
def test_render_batch_equals_a_loop_of_render_bit_for_bit(projection, supersample, batch):
    renderer = Renderer(SIZE, projection=projection, supersample=supersample, background=(10, 20, 30))
    indices = np.array([i for i, _ in batch])
    rotations = np.array([q for _, q in batch], np.float64)
    out = renderer.render_batch(BANK, indices, rotations)
    assert out.shape == (len(batch), SIZE, SIZE, 3) and out.dtype == np.uint8
    for i, (k, q) in enumerate(batch):
        single = renderer.render(MESHES[k], np.array(q))
        np.testing.assert_array_equal(out[i], single, err_msg=f"item {i}: mesh {k}, q {q}")
        assert np.any(single != (10, 20, 30))  # the object is in the picture


def test_items_do_not_depend_on_their_batch():
    renderer = Renderer(SIZE)
    rng = np.random.default_rng(0)
    indices, rotations = rng.integers(0, len(MESHES), 40), random_quaternion(rng, 40)
    full = renderer.render_batch(BANK, indices, rotations)
    np.testing.assert_array_equal(renderer.render_batch(BANK, indices[::-1], rotations[::-1]), full[::-1])
    np.testing.assert_array_equal(renderer.render_batch(BANK, indices[7:9], rotations[7:9]), full[7:9])
    assert len({img.tobytes() for img in full}) == 40  # distinct views, not one image repeated


def test_supersampling_is_the_area_mean_of_the_large_render():
    rng = np.random.default_rng(1)
    indices, rotations = rng.integers(0, len(MESHES), 6), random_quaternion(rng, 6)
    small = Renderer(32, supersample=2).render_batch(BANK, indices, rotations)
    large = Renderer(64).render_batch(BANK, indices, rotations)
    for s, big in zip(small, large):
        mean = big.reshape(32, 2, 32, 2, 3).astype(np.float64).mean(axis=(1, 3))
        np.testing.assert_array_equal(s, np.floor(mean + 0.5).astype(np.uint8))  # rounded half up
        assert np.abs(s.astype(int) - cv2.resize(big, (32, 32), interpolation=cv2.INTER_AREA)).max() <= 1


def test_mesh_bank_packs_the_meshes_once():
    assert len(BANK) == len(MESHES)
    for k, mesh in enumerate(MESHES):
        v0, v1 = BANK.vertex_offsets[k:k + 2]
        f0, f1 = BANK.face_offsets[k:k + 2]
        np.testing.assert_array_equal(BANK.vertices[v0:v1], mesh.vertices)
        np.testing.assert_array_equal(BANK.normals[f0:f1], mesh.normals)
        np.testing.assert_array_equal(BANK.faces[f0:f1], mesh.faces)
        np.testing.assert_array_equal(BANK.colors[f0:f1], mesh.colors)
    np.testing.assert_array_equal(BANK.labels, [m.label for m in MESHES])
    assert BANK.vertex_offsets[-1] == len(BANK.vertices) and BANK.face_offsets[-1] == len(BANK.faces)
    with pytest.raises(ValueError, match="meshes"):
        MeshBank([])
    with pytest.raises(TypeError, match=r"meshes\[1\]"):
        MeshBank([MESHES[0], "cube"])


def test_an_empty_batch_gives_an_empty_stack():
    out = Renderer(SIZE).render_batch(BANK, np.zeros(0, np.int64), np.zeros((0, 4)))
    assert out.shape == (0, SIZE, SIZE, 3) and out.dtype == np.uint8


@pytest.mark.parametrize("indices, rotations, match", [
    ([0, 1], np.ones((2, 3)), "rotations"),
    ([0, 1], np.ones((3, 4)), "rotations"),
    ([0, 1], [[1, 0, 0, 0], [np.nan, 0, 0, 1]], "rotations must be finite"),
    ([0, 1], [[1, 0, 0, 0], [0, 0, 0, 0]], r"rotations must be non-zero quaternions \(rows \[1\]\)"),
    ([0, 10], np.ones((2, 4)), r"indices must be in \[0, 10\)"),
    ([-1, 0], np.ones((2, 4)), "indices must be in"),
    ([0.0, 1.0], np.ones((2, 4)), "indices must be a 1-D int array"),
    ([[0, 1]], np.ones((2, 4)), "indices must be a 1-D int array"),
])
def test_render_batch_rejects_bad_input_naming_the_argument(indices, rotations, match):
    with pytest.raises(ValueError, match=match):
        Renderer(SIZE).render_batch(BANK, np.asarray(indices), rotations)


def test_bank_type_and_mesh_radius_are_checked():
    with pytest.raises(TypeError, match="bank"):
        Renderer(SIZE).render_batch(MESHES, [0], np.ones((1, 4)))
    big = Mesh(MESHES[0].vertices * 5.0, MESHES[0].faces, MESHES[0].colors)
    bank = MeshBank([MESHES[0], big])
    renderer = Renderer(SIZE, distance=4.0)
    assert renderer.render_batch(bank, [0], np.ones((1, 4))).shape == (1, SIZE, SIZE, 3)
    with pytest.raises(ValueError, match="bank mesh 1 has radius 5"):
        renderer.render_batch(bank, [0, 1], np.ones((2, 4)))
    # orthographic projection has no camera distance to respect
    assert Renderer(SIZE, projection="orthographic").render_batch(bank, [1], np.ones((1, 4))).any()


def test_single_render_rejects_bad_rotations_naming_them():
    renderer = Renderer(SIZE)
    for bad, match in (([1, 0, 0], "rotation must be"), ([[1, 0, 0, 0]], "rotation must be"),
                       ([0, 0, 0, 0], "rotation must be non-zero"), ([1, np.inf, 0, 0], "rotation must be finite")):
        with pytest.raises(ValueError, match=match):
            renderer.render(MESHES[0], bad)


# ------------------------------------------------------------------ the scipy-backed SO(3) wrappers
def test_so3_wrappers_keep_leading_shapes_broadcast_and_draw_deterministically():
    from envs.render.mesh_renderer import quat_multiply, quat_to_matrix, rotation_angle, so3_log

    rng = np.random.default_rng(3)
    p, q = random_quaternion(rng, (2, 1)), random_quaternion(rng, (1, 5))
    pq = quat_multiply(p, q)
    assert pq.shape == (2, 5, 4)
    np.testing.assert_allclose(quat_to_matrix(pq), quat_to_matrix(p) @ quat_to_matrix(q), atol=1e-12)
    np.testing.assert_allclose(quat_multiply(p[0, 0], q[0]), pq[0], atol=0)  # [4] with [5, 4]
    assert quat_to_matrix(q).shape == (1, 5, 3, 3) and so3_log(q).shape == (1, 5, 3)
    assert rotation_angle(q).shape == (1, 5) and rotation_angle(q[0, 0]).shape == ()
    np.testing.assert_allclose(rotation_angle(so3_exp(np.array([0.0, 0.0, 3.0]))), 3.0, atol=1e-12)
    a, b = random_quaternion(np.random.default_rng(9), (3, 4)), random_quaternion(np.random.default_rng(9), (3, 4))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 4, 4) and random_quaternion(np.random.default_rng(9)).shape == (4,)
    assert random_quaternion(np.random.default_rng(9), 0).shape == (0, 4)
    with pytest.raises(ValueError, match="q must be non-zero"):
        quat_to_matrix(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="size"):
        random_quaternion(rng, (2, -1))
