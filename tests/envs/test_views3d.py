"""ViewBank: a 3DIEBench-format folder (and our rendered meshes) as K objects x V known views."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from envs.datasets.objects3d import make_objects
from envs.datasets.views3d import ViewBank, ViewImages
from envs.render.mesh_renderer import Renderer, quat_multiply, rotation_angle, so3_exp
from tests.envs.helpers import CLASSES_3DIE as CLASSES, write_3diebench  # noqa: F401

@pytest.fixture
def folder(tmp_path):
    return tmp_path, write_3diebench(tmp_path)


def min_other_angle(rotations: np.ndarray, v: int) -> float:
    """Geodesic angle from view ``v`` to the nearest other view (rotations [V, 4])."""
    others = np.delete(rotations, v, axis=0)
    return float(rotation_angle(quat_multiply(others, rotations[v] * [1, -1, -1, -1])).min())


def test_3diebench_folder_becomes_a_bank_of_objects_by_views(folder):
    root, records = folder
    bank = ViewBank.from_3diebench(root)
    assert (bank.num_objects, bank.num_views) == (4, 3) and len(bank) == 4
    assert bank.images.shape == (4, 3, 20, 20, 3) and bank.images.dtype == np.uint8
    assert bank.class_names == CLASSES
    assert bank.object_names == ("02691156/obj0", "02691156/obj1", "03001627/obj0", "03001627/obj1")
    np.testing.assert_array_equal(bank.labels, [0, 0, 1, 1])
    assert bank.labels.dtype == np.int64
    assert bank.rotations.shape == (4, 3, 4) and bank.rotations.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(bank.rotations, axis=-1), 1.0, atol=1e-12)
    assert np.all(bank.rotations[..., 0] >= 0)
    assert bank.latents.shape == (4, 3, 7)
    for k, name in enumerate(bank.object_names):
        for v in range(3):
            colour, latent = records[(name, v)]
            np.testing.assert_allclose(bank.latents[k, v], latent)
            xyzw = Rotation.from_euler("xyz", latent[:3]).as_quat()
            assert abs(abs(np.dot(bank.rotations[k, v], np.roll(xyzw, 1))) - 1.0) < 1e-12
            assert np.abs(bank.images[k, v].astype(int) - colour).max() <= 4  # JPEG of a flat colour


def test_lazy_images_index_like_a_five_dimensional_array(folder):
    root, _ = folder
    bank = ViewBank.from_3diebench(root, image_size=8)
    assert isinstance(bank.images, ViewImages)
    full = np.asarray(bank.images)
    assert full.shape == (4, 3, 8, 8, 3)
    np.testing.assert_array_equal(bank.images[2], full[2])
    np.testing.assert_array_equal(bank.images[1, 2], full[1, 2])
    np.testing.assert_array_equal(bank.images[np.array([0, 3, 3]), np.array([2, 0, 1])], full[[0, 3, 3], [2, 0, 1]])
    np.testing.assert_array_equal(bank.images[1, 2, 3:5, :, 0], full[1, 2, 3:5, :, 0])
    np.testing.assert_array_equal(bank.images[1:3, ::2], full[1:3, ::2])
    with pytest.raises(IndexError):
        bank.images[4, 0]
    clone = pickle.loads(pickle.dumps(bank))  # envs pickle their data: paths, not pixels
    np.testing.assert_array_equal(clone.images[1, 2], full[1, 2])
    np.testing.assert_array_equal(clone.rotations, bank.rotations)


def test_nearest_view_finds_each_view_and_perturbed_ones(folder):
    root, _ = folder
    bank = ViewBank.from_3diebench(root)
    obj = np.repeat(np.arange(4), 3)
    own = bank.rotations.reshape(-1, 4)
    expected = np.tile(np.arange(3), 4)
    np.testing.assert_array_equal(bank.nearest_view(obj, own), expected)
    np.testing.assert_array_equal(bank.nearest_view(obj, -3.0 * own), expected)  # any sign and scale
    rng = np.random.default_rng(5)
    for k, v in zip(obj, expected):
        axis = rng.normal(size=3)
        nudge = so3_exp(0.4 * min_other_angle(bank.rotations[k], v) * axis / np.linalg.norm(axis))
        target = quat_multiply(nudge, bank.rotations[k, v])
        assert bank.nearest_view(np.array([k]), target[None])[0] == v
    # the views searched are those of the object asked for: object 0's views against object 1's, by angle
    for v in range(3):
        target = bank.rotations[0, v]
        angles = rotation_angle(quat_multiply(bank.rotations[1], target * [1, -1, -1, -1]))
        assert bank.nearest_view(np.array([1]), target[None])[0] == np.argmin(angles)


def test_nearest_view_ties_go_to_the_lowest_index_and_bad_input_is_named():
    q = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [1.0, 0, 0, 0], [0, -1.0, 0, 0]])
    bank = ViewBank(images=np.zeros((1, 4, 2, 2, 3), np.uint8), rotations=q[None], labels=[0], class_names=("a",))
    np.testing.assert_array_equal(bank.nearest_view(np.array([0, 0]), np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0]])),
                                  [0, 0])  # [0, 0, 1, 0] is pi/2 from every view: a four-way tie
    np.testing.assert_array_equal(bank.nearest_view(np.array([0]), np.array([[0.0, 2.0, 0, 0]])), [1])
    for obj, target, match in (([1], [[1.0, 0, 0, 0]], r"obj must be in \[0, 1\)"),
                               ([0.5], [[1.0, 0, 0, 0]], "obj must be a 1-D int array"),
                               ([0], [[1.0, 0, 0]], "target must be"),
                               ([0, 0], [[1.0, 0, 0, 0]], r"target must be .* shape \(2, 4\)"),
                               ([0], [[0.0, 0, 0, 0]], "target must be non-zero"),
                               ([0], [[np.nan, 0, 0, 0]], "target must be finite")):
        with pytest.raises(ValueError, match=match):
            bank.nearest_view(np.asarray(obj), np.asarray(target))


def test_views_keeps_the_first_views_and_unequal_counts_are_an_error(tmp_path):
    write_3diebench(tmp_path)
    (tmp_path / CLASSES[1] / "obj1" / "image_2.jpg").unlink()
    (tmp_path / CLASSES[1] / "obj1" / "latent_2.npy").unlink()
    with pytest.raises(ValueError, match=r"same number of views.*views=2"):
        ViewBank.from_3diebench(tmp_path)
    bank = ViewBank.from_3diebench(tmp_path, views=2, max_objects=3)
    assert bank.images.shape[:2] == (3, 2) and bank.rotations.shape == (3, 2, 4)


def test_missing_folder_or_unpaired_files_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="root must be a 3DIEBench folder"):
        ViewBank.from_3diebench(tmp_path / "missing")
    write_3diebench(tmp_path)
    obj = tmp_path / CLASSES[0] / "obj1"
    (obj / "latent_1.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"3 image_<i>.jpg but 2 latent_<i>.npy: missing latent_1.npy"):
        ViewBank.from_3diebench(tmp_path)
    np.save(obj / "latent_1.npy", np.zeros(7))
    np.save(obj / "latent_3.npy", np.zeros(7))
    with pytest.raises(FileNotFoundError, match=r"3 image_<i>.jpg but 4 latent_<i>.npy: missing image_3.jpg"):
        ViewBank.from_3diebench(tmp_path)
    (obj / "latent_3.npy").unlink()
    np.save(obj / "latent_1.npy", np.zeros(5))
    with pytest.raises(ValueError, match="same length"):
        ViewBank.from_3diebench(tmp_path)
    with pytest.raises(ValueError, match="image_size"):
        ViewBank.from_3diebench(tmp_path, image_size=0)


def test_from_meshes_renders_each_view_at_its_recorded_rotation():
    meshes = make_objects(3, seed=2)
    bank = ViewBank.from_meshes(meshes, views=5, size=24, seed=7, projection="orthographic")
    assert bank.images.shape == (3, 5, 24, 24, 3) and isinstance(bank.images, np.ndarray)
    np.testing.assert_array_equal(bank.labels, [0, 1, 2])
    assert bank.object_names == tuple(m.name for m in meshes)
    np.testing.assert_allclose(np.linalg.norm(bank.rotations, axis=-1), 1.0, atol=1e-12)
    assert np.all(bank.rotations[..., 0] >= 0)
    renderer = Renderer(24, projection="orthographic")
    for k in range(3):
        for v in range(5):
            np.testing.assert_array_equal(bank.images[k, v], renderer.render(meshes[k], bank.rotations[k, v]))
    np.testing.assert_array_equal(bank.nearest_view(np.repeat(np.arange(3), 5), bank.rotations.reshape(-1, 4)),
                                  np.tile(np.arange(5), 3))
    again = ViewBank.from_meshes(meshes, views=5, size=24, seed=7, projection="orthographic")
    np.testing.assert_array_equal(again.rotations, bank.rotations)
    assert not np.array_equal(ViewBank.from_meshes(meshes, views=5, size=24, seed=8).rotations, bank.rotations)
    with pytest.raises(ValueError, match="views"):
        ViewBank.from_meshes(meshes, views=0)


@pytest.mark.parametrize("kwargs, match", [
    ({"images": np.zeros((2, 3, 4, 4), np.uint8)}, "images must be uint8"),
    ({"images": np.zeros((2, 3, 4, 4, 3), np.float32)}, "images must be uint8"),
    ({"rotations": np.ones((2, 2, 4))}, r"rotations must be .*\[2, 3, 4\]"),
    ({"rotations": np.zeros((2, 3, 4))}, "rotations must be non-zero"),
    ({"labels": [0, 2]}, r"labels must be in \[-1, 2\)"),
    ({"labels": [0]}, r"labels must be int \[2\]"),
    ({"object_names": ("a",)}, "object_names must hold 2"),
    ({"latents": np.zeros((2, 2, 5))}, r"latents must be \[2, 3, L\]"),
])
def test_bank_fields_are_validated_naming_them(kwargs, match):
    fields = dict(images=np.zeros((2, 3, 4, 4, 3), np.uint8), rotations=np.tile([2.0, 0, 0, 0], (2, 3, 1)),
                  labels=[0, 1], class_names=("a", "b"))
    fields.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ViewBank(**fields)


def test_rotations_are_normalised_and_canonicalised_on_construction():
    rot = np.tile([-2.0, 0, 0, 0], (1, 2, 1))
    rot[0, 1] = [-1.0, 1.0, 0, 0]
    bank = ViewBank(images=np.zeros((1, 2, 4, 4, 3), np.uint8), rotations=rot, labels=[-1], class_names=())
    np.testing.assert_allclose(bank.rotations, [[[1, 0, 0, 0], [2 ** -0.5, -(2 ** -0.5), 0, 0]]])
