"""SO(3) helpers, the software renderer, procedural objects, the 3DIEBench reader and Rotation3DEnv."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from envs.datasets.objects3d import (
    OBJECT_CLASSES,
    load_3diebench,
    make_object,
    make_objects,
    render_views,
)
from envs.render.mesh_renderer import (
    Mesh,
    Renderer,
    euler_xyz_to_quat,
    quat_canonical,
    quat_conjugate,
    quat_multiply,
    quat_normalize,
    quat_to_matrix,
    random_quaternion,
    so3_exp,
    so3_log,
)
from envs.families.rotation3d_env import Rotation3DEnv
from tests.envs.helpers import write_3diebench

FINITE = st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False)
vec3 = arrays(np.float64, 3, elements=FINITE)
quat = arrays(np.float64, 4, elements=FINITE).filter(lambda q: np.linalg.norm(q) > 0.1)


def same_rotation(p: np.ndarray, q: np.ndarray, atol: float = 1e-6) -> bool:
    p, q = quat_normalize(p), quat_normalize(q)
    return abs(abs(float(np.dot(p, q))) - 1.0) < atol


def rodrigues(v: np.ndarray) -> np.ndarray:
    theta = np.linalg.norm(v)
    if theta == 0:
        return np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]]) / theta
    return np.eye(3) + np.sin(theta) * k + (1 - np.cos(theta)) * k @ k


# ------------------------------------------------------------------------------------ SO(3)
@settings(max_examples=60, deadline=None)
@given(vec3)
def test_exp_matches_rodrigues_and_log_inverts_it(v):
    np.testing.assert_allclose(quat_to_matrix(so3_exp(v)), rodrigues(v), atol=1e-9)
    if np.linalg.norm(v) < np.pi - 1e-3:
        np.testing.assert_allclose(so3_log(so3_exp(v)), v, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(quat, quat)
def test_matrices_are_rotations_and_compose_like_quaternions(p, q):
    mp, mq = quat_to_matrix(p), quat_to_matrix(q)
    np.testing.assert_allclose(mp @ mp.T, np.eye(3), atol=1e-9)
    assert np.linalg.det(mp) == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(quat_to_matrix(quat_multiply(p, q)), mp @ mq, atol=1e-9)
    np.testing.assert_allclose(quat_to_matrix(quat_conjugate(quat_normalize(p))), mp.T, atol=1e-9)
    log = so3_log(q)
    assert np.linalg.norm(log) <= np.pi + 1e-9
    assert same_rotation(so3_exp(log), q)


def test_log_is_accurate_near_the_identity_and_exp_is_periodic():
    v = np.array([1e-9, -2e-9, 3e-10])
    np.testing.assert_allclose(so3_log(so3_exp(v)), v, rtol=1e-6)
    u = np.array([0.6, 0.0, -0.8])
    assert same_rotation(so3_exp(2 * np.pi * u), [1, 0, 0, 0])
    batch = np.random.default_rng(0).normal(size=(5, 7, 3))
    assert so3_exp(batch).shape == (5, 7, 4) and so3_log(so3_exp(batch)).shape == (5, 7, 3)


def test_euler_xyz_matches_scipy():
    rotation = pytest.importorskip("scipy.spatial.transform").Rotation
    angles = np.random.default_rng(1).uniform(-np.pi, np.pi, (50, 3))
    xyzw = rotation.from_euler("xyz", angles).as_quat()
    ours = euler_xyz_to_quat(angles)
    np.testing.assert_allclose(ours, quat_canonical(np.roll(xyzw, 1, axis=1)), atol=1e-12)


def test_random_quaternions_are_uniform_on_so3():
    q = random_quaternion(np.random.default_rng(2), 4000)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
    assert np.all(q[:, 0] >= 0)
    # Haar measure: E[R] = 0 (each entry has std 1/sqrt(3); 4000 samples -> std of the mean ~ 0.009)
    assert np.abs(quat_to_matrix(q).mean(axis=0)).max() < 0.05


def test_helpers_reject_bad_input_naming_it():
    with pytest.raises(ValueError, match="rotvec"):
        so3_exp(np.zeros(2))
    with pytest.raises(ValueError, match="q"):
        quat_normalize(np.zeros(4))
    with pytest.raises(ValueError, match="finite"):
        so3_log(np.array([1.0, np.nan, 0, 0]))


# ------------------------------------------------------------------------------------ renderer
def uv_sphere(n: int = 48) -> Mesh:
    """A unit sphere (vertices on the sphere; finely tessellated)."""
    theta = np.linspace(0, np.pi, n // 2 + 1)
    phi = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pts = np.array([[np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)] for t in theta for p in phi])
    faces = []
    for i in range(len(theta) - 1):
        for j in range(n):
            a, b, c, d = i * n + j, i * n + (j + 1) % n, (i + 1) * n + (j + 1) % n, (i + 1) * n + j
            faces += [[a, d, c], [a, c, b]]
    faces = np.array(faces)
    tri = pts[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    keep = np.linalg.norm(normal, axis=1) > 1e-12  # drop degenerate pole triangles
    faces, normal, tri = faces[keep], normal[keep], tri[keep]
    flip = np.einsum("ij,ij->i", normal, tri.mean(axis=1)) < 0
    faces[flip] = faces[flip][:, ::-1]
    return Mesh(pts, faces, np.full(faces.shape, 200, np.uint8))


@pytest.mark.parametrize("projection", ["perspective", "orthographic"])
def test_a_unit_sphere_fills_ninety_percent_of_the_image(projection):
    img = Renderer(100, projection=projection).render(uv_sphere(), [1, 0, 0, 0])
    rows, cols = np.nonzero(img.sum(axis=2))
    assert rows.max() - rows.min() + 1 == pytest.approx(90, abs=2)
    assert cols.max() - cols.min() + 1 == pytest.approx(90, abs=2)
    assert (rows.min() + rows.max() + 1) / 2 == pytest.approx(50, abs=1)  # centred on the image
    # Lambert shading: the pixel facing the light (upper left, in front) is the brightest
    r, c = np.unravel_index(np.argmax(img[..., 0]), img.shape[:2])
    assert r < 50 and c < 50


@pytest.mark.parametrize("projection", ["perspective", "orthographic"])
def test_a_box_seen_face_on_shows_only_its_front_face(projection):
    mesh = make_object(OBJECT_CLASSES.index("cuboid"), np.random.default_rng(0))
    renderer = Renderer(64, projection=projection, ambient=0.3)
    img = renderer.render(mesh, [1, 0, 0, 0])
    front = np.flatnonzero(np.isclose(mesh.normals[:, 2], -1.0))  # outward normal towards the camera
    assert len(front) == 2
    shade = 0.3 + 0.7 * max(0.0, -renderer.light[2])
    expected = np.rint(mesh.colors[front[0]] * shade)
    fg = img[img.sum(axis=2) > 0]
    assert len(fg) > 0.1 * 64 * 64
    np.testing.assert_array_equal(np.unique(fg, axis=0), expected[None])


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_the_z_buffer_keeps_the_nearest_face_whatever_the_drawing_order(order):
    near = [[-0.5, -0.5, -0.5], [0.5, -0.5, -0.5], [0.0, 0.5, -0.5]]  # z towards the camera is negative
    far = [[-1.0, -1.0, 0.5], [1.0, -1.0, 0.5], [0.0, 1.0, 0.5]]  # larger on screen
    tris = [near, far]
    verts = np.array([p for k in order for p in tris[k]], float)
    faces = np.array([[0, 2, 1], [3, 5, 4]])  # normals towards -z (the camera)
    colors = np.array([[255, 0, 0], [0, 255, 0]], np.uint8)[list(order)]
    img = Renderer(32, ambient=1.0).render(Mesh(verts, faces, colors), [1, 0, 0, 0])
    np.testing.assert_array_equal(img[16, 16], [255, 0, 0])
    assert np.any(np.all(img == [0, 255, 0], axis=2))  # the far triangle peeks out around the near one


def test_faces_turned_away_from_the_camera_are_culled_and_meshes_are_validated():
    verts = np.array([[-0.5, -0.5, 0.0], [0.5, -0.5, 0.0], [0.0, 0.5, 0.0]])
    colors = np.full((1, 3), 255, np.uint8)
    towards = Renderer(32).render(Mesh(verts, np.array([[0, 2, 1]]), colors), [1, 0, 0, 0])
    away = Renderer(32).render(Mesh(verts, np.array([[0, 1, 2]]), colors), [1, 0, 0, 0])
    assert towards.any() and not away.any()
    with pytest.raises(ValueError, match="faces"):
        Mesh(verts, np.array([[0, 1, 3]]), colors)
    with pytest.raises(ValueError, match="colors"):
        Mesh(verts, np.array([[0, 1, 2]]), np.zeros((2, 3), np.uint8))
    with pytest.raises(ValueError, match="rotation"):
        Renderer(32).render(Mesh(verts, np.array([[0, 1, 2]]), colors), [1, 0, 0])


def test_every_class_is_a_closed_outward_mesh_with_a_visible_silhouette():
    objects = make_objects(len(OBJECT_CLASSES), seed=3)
    renderer = Renderer(48)
    for k, mesh in enumerate(objects):
        assert mesh.label == k and mesh.name == OBJECT_CLASSES[k]
        edges = np.concatenate([mesh.faces[:, [0, 1]], mesh.faces[:, [1, 2]], mesh.faces[:, [2, 0]]])
        directed = set(map(tuple, edges))
        assert len(directed) == len(edges), mesh.name  # no edge used twice in the same direction
        assert all((b, a) in directed for a, b in edges), mesh.name  # closed, consistently wound
        tri = mesh.vertices[mesh.faces]
        volume = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6
        assert volume > 0.1, mesh.name  # outward normals
        assert mesh.radius == pytest.approx(1.0)
        fg = renderer.render(mesh, random_quaternion(np.random.default_rng(k))).sum(axis=2) > 0
        assert 0.03 < fg.mean() < 0.8, mesh.name


def test_make_objects_is_deterministic_and_prefix_stable():
    a, b, c = make_objects(12, seed=5), make_objects(4, seed=5), make_objects(4, seed=6)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.vertices, y.vertices)
        np.testing.assert_array_equal(x.colors, y.colors)
    assert any(not np.array_equal(x.colors, y.colors) for x, y in zip(b, c))
    assert [m.label for m in a] == [i % len(OBJECT_CLASSES) for i in range(12)]
    with pytest.raises(ValueError, match="n must"):
        make_objects(0)


def test_render_views_records_the_rotation_of_each_image():
    objects = make_objects(3, seed=0)
    data = render_views(objects, views=4, size=32, seed=1)
    assert data.images.shape == (12, 32, 32, 3) and data.rotations.shape == (12, 4)
    np.testing.assert_array_equal(data.object_ids, np.repeat(np.arange(3), 4))
    np.testing.assert_array_equal(data.labels, np.repeat([0, 1, 2], 4))
    renderer = Renderer(32)
    for i in (0, 5, 11):
        again = renderer.render(objects[data.object_ids[i]], data.rotations[i])
        assert np.mean(again != data.images[i]) < 0.01  # float32 rotations: at most a few edge pixels


# ------------------------------------------------------------------------------------ 3DIEBench
def test_3diebench_reader_reads_images_labels_and_rotations(tmp_path):
    rotation = pytest.importorskip("scipy.spatial.transform").Rotation
    records = write_3diebench(tmp_path, size=24)
    data = load_3diebench(tmp_path)
    assert len(data) == 12 and data.class_names == ("02691156", "03001627")
    assert data.images.shape == (12, 24, 24, 3)
    np.testing.assert_array_equal(data.labels, [0] * 6 + [1] * 6)
    np.testing.assert_array_equal(data.object_ids, np.repeat(np.arange(4), 3))
    for i, (colour, latent) in enumerate(records.values()):
        assert np.abs(data.images[i].astype(int) - colour).max() <= 4  # JPEG of a flat colour
        np.testing.assert_allclose(data.latents[i], latent, rtol=1e-6)
        expected = np.roll(rotation.from_euler("xyz", latent[:3].astype(np.float32)).as_quat(), 1)
        assert same_rotation(data.rotations[i], expected, atol=1e-6)
    eager = load_3diebench(tmp_path, lazy=False, image_size=16, max_objects=3, views=2)
    assert isinstance(eager.images, np.ndarray) and eager.images.shape == (6, 16, 16, 3)
    np.testing.assert_array_equal(eager.object_ids, [0, 0, 1, 1, 2, 2])


def test_3diebench_split_files_select_objects_and_labels(tmp_path):
    write_3diebench(tmp_path, size=24)
    np.save(tmp_path / "val_images.npy", np.array(["/03001627/obj1", "/02691156/obj0"]))
    np.save(tmp_path / "val_labels.npy", np.array([1, 0]))
    data = load_3diebench(tmp_path, split="val")
    assert len(data) == 6 and data.split == "val"
    np.testing.assert_array_equal(data.labels, [1, 1, 1, 0, 0, 0])
    with pytest.raises(FileNotFoundError, match="train_images.npy"):
        load_3diebench(tmp_path, split="train")


def test_3diebench_reader_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="root"):
        load_3diebench(tmp_path / "missing")
    write_3diebench(tmp_path, objects=1, views=2)
    (tmp_path / "03001627" / "obj0" / "latent_1.npy").unlink()
    with pytest.raises(FileNotFoundError, match="latent_1.npy"):
        load_3diebench(tmp_path)
    with pytest.raises(ValueError, match="image_size"):
        load_3diebench(tmp_path, image_size=0)


# ------------------------------------------------------------------------------------ the env
@pytest.fixture(scope="module")
def objects():
    return make_objects(5, seed=0)


def make_env(objects, **kwargs) -> Rotation3DEnv:
    kwargs.setdefault("image_size", 32)
    return Rotation3DEnv(objects, **kwargs)


def test_check_env_passes(objects):
    check_env(make_env(objects, scales=(1, 2), glimpse_size=16, render_mode="rgb_array"), skip_render_check=False)


def test_observation_is_the_centred_view_and_info_the_state(objects):
    env = make_env(objects, scales=(1, 2), glimpse_size=16)
    obs, info = env.reset(seed=0, options={"index": 3})
    assert obs["glimpse"].shape == (2, 16, 16, 3) and obs["glimpse"].dtype == np.uint8
    np.testing.assert_array_equal(obs["glimpse"][0], env.view[8:24, 8:24])
    np.testing.assert_array_equal(obs["last_action"], np.zeros(3, np.float32))
    assert info["index"] == 3 and info["label"] == objects[3].label
    assert info["rotation"].dtype == np.float32 and info["rotation"][0] >= 0
    assert np.linalg.norm(info["rotation"]) == pytest.approx(1.0, abs=1e-6)
    assert same_rotation(info["relative_rotation"], [1, 0, 0, 0])
    np.testing.assert_array_equal(env.view, Renderer(32).render(objects[3], env.rotation))


def test_last_action_is_the_applied_left_rotation_and_composes_to_the_relative_rotation(objects):
    env = make_env(objects, max_steps=30, max_angle=2.5)
    obs, info = env.reset(seed=1)
    rng = np.random.default_rng(2)
    composed = np.array([1.0, 0.0, 0.0, 0.0])
    for _ in range(30):
        before = info["rotation"].astype(np.float64)
        axis = rng.normal(size=3)
        action = (axis / np.linalg.norm(axis) * rng.uniform(0, 1.0)).astype(np.float32)
        obs, _, _, _, info = env.step(action)
        np.testing.assert_allclose(obs["last_action"], action * 2.5, rtol=1e-6)  # radians: action * max_angle
        relative = quat_multiply(info["rotation"].astype(np.float64), quat_conjugate(before))
        np.testing.assert_allclose(so3_log(relative), obs["last_action"], atol=2e-5)
        composed = quat_multiply(so3_exp(obs["last_action"].astype(np.float64)), composed)
        assert same_rotation(composed, info["relative_rotation"], atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float32, 3, elements=st.floats(-1, 1, width=32)))
def test_normalised_actions_scale_to_max_angle_without_clipping_to_a_half_turn(action):
    """A norm over 1 is scaled down to 1 (same axis); nothing is clipped per component."""
    env = make_env(make_objects(2, seed=0), max_angle=np.pi / 2)
    _, info = env.reset(seed=0)
    obs, _, _, _, after = env.step(action)
    applied = obs["last_action"].astype(np.float64)
    norm = float(np.linalg.norm(action.astype(np.float64)))
    assert np.linalg.norm(applied) == pytest.approx(min(norm, 1.0) * np.pi / 2, abs=1e-6)
    if norm > 1e-6:
        np.testing.assert_allclose(applied / np.linalg.norm(applied), action / norm, atol=1e-5)
    expected = quat_multiply(so3_exp(applied), info["rotation"].astype(np.float64))
    assert same_rotation(after["rotation"], expected, atol=1e-5)
    assert env.observation_space.contains(obs)


def test_sampled_actions_are_not_half_turns():
    """The old ``Box(-pi, pi)`` clipped half of ``action_space.sample()`` to exact half turns."""
    env = make_env(make_objects(2, seed=0))
    env.reset(seed=0)
    env.action_space.seed(0)
    angles = [np.linalg.norm(env.step(env.action_space.sample())[0]["last_action"]) for _ in range(7)]
    assert max(angles) <= np.pi / 2 + 1e-6 and min(angles) > 0.0


def test_a_full_turn_gives_back_the_same_image(objects):
    env = make_env(objects, max_steps=10, max_angle=np.pi)
    rng = np.random.default_rng(3)
    for index in range(len(objects)):
        obs0, info0 = env.reset(seed=index, options={"index": index})
        axis = rng.normal(size=3)
        half_turn = (axis / np.linalg.norm(axis)).astype(np.float32)  # norm 1 = max_angle = pi
        obs1, *_ = env.step(half_turn)
        assert not np.array_equal(obs1["glimpse"], obs0["glimpse"])  # a half turn shows something else
        obs2, _, _, _, info2 = env.step(half_turn)
        np.testing.assert_array_equal(obs2["glimpse"], obs0["glimpse"])
        assert same_rotation(info2["rotation"], info0["rotation"])


def test_same_seed_same_rollout_and_pickled_env_continues_identically(objects):
    def run(env, seed):
        out = [env.reset(seed=seed)]
        out += [env.step(a) for a in np.random.default_rng(0).uniform(-1, 1, (5, 3)).astype(np.float32)]
        return [(o["glimpse"], step[-1]["rotation"]) for step in out for o in [step[0]]]

    a, b, c = run(make_env(objects), 7), run(make_env(objects), 7), run(make_env(objects), 8)
    for (ga, ra), (gb, rb) in zip(a, b):
        np.testing.assert_array_equal(ga, gb)
        np.testing.assert_array_equal(ra, rb)
    assert not np.array_equal(a[0][1], c[0][1])
    env = make_env(objects, render_mode="rgb_array")
    env.reset(seed=2)
    clone = pickle.loads(pickle.dumps(env))
    action = np.array([0.4, -0.3, 0.2], np.float32)
    np.testing.assert_array_equal(env.step(action)[0]["glimpse"], clone.step(action)[0]["glimpse"])
    np.testing.assert_array_equal(env.render(), clone.render())


def test_truncation_render_and_human_mode(objects):
    env = make_env(objects, max_steps=2, render_mode="rgb_array", render_scale=3)
    env.reset(seed=0)
    assert [env.step(np.zeros(3, np.float32))[3] for _ in range(2)] == [False, True]
    frame = env.render()
    assert frame.shape == (96, 96, 3) and frame.dtype == np.uint8
    human = make_env(objects, render_mode="human")
    human.reset(seed=0)
    assert human._window is not None
    human.close()


@pytest.mark.parametrize("kwargs, name", [
    ({"max_steps": 0}, "max_steps"), ({"projection": "fisheye"}, "projection"), ({"image_size": 2}, "size"),
    ({"render_mode": "ascii"}, "render_mode"), ({"scales": (1, 0)}, "scales"), ({"supersample": 0}, "supersample"),
    ({"background": (0, 0, 300)}, "background"),
])
def test_bad_arguments_name_the_parameter(objects, kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_env(objects, **kwargs)


def test_bad_actions_and_options_name_the_problem(objects):
    env = make_env(objects)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="index"):
        env.reset(options={"index": 5})
    with pytest.raises(ValueError, match="rotation"):
        env.reset(options={"rotation": [0, 0, 0, 0]})
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([np.nan, 0, 0], np.float32))
    with pytest.raises(ValueError, match="objects"):
        Rotation3DEnv(objects=[])
