"""Bad and extreme env keywords and actions: a ValueError naming the keyword and its range, checked
before anything large is built; never a segfault, never a silent truncation or a silent no-op."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envs.engine.retina import Retina
from envs.families.path_world import PathWorld, make_worlds
from envs.families.rotation_world import RotationWorld, scale_rotation_actions
from envs.families.saccade_env import SaccadeEnv
from envs.families.saccade_world import SaccadeWorld
from saliency import saliency_maps
from tests.envs.helpers import blob_dataset

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.sampled_from([0, 1, 2, 2.7, 1e-200, 1e19, 2 ** 62, True, "3", None]),
)


@pytest.fixture(scope="module")
def data():
    dataset = blob_dataset(n=3, size=32)
    return dataset, saliency_maps(np.asarray(dataset.images))


def test_huge_scale_raises_instead_of_crashing_the_interpreter():
    code = ("from envs.engine.retina import Retina\nimport numpy as np\n"
            "try:\n    Retina(8, (1, 2 ** 62)).glimpse(np.zeros((16, 16, 3), np.uint8), (8, 8))\n"
            "except ValueError as e:\n    print('ValueError', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]  # a segfault exits -11
    assert "ValueError scales must hold at most 16 scales with glimpse_size * max(scales) <= 8192" in out.stdout


@pytest.mark.parametrize("kwargs,match", [
    (dict(scales=(1, 2 ** 62)), r"scales must hold at most 16 scales"),
    (dict(scales=2), r"scales must be a tuple of positive ints starting with 1"),
    (dict(scales="124"), r"scales must be a tuple"),
    (dict(glimpse_size=4096), r"glimpse_size must be an int in \[1, 1024\]"),
    (dict(glimpse_size=32, scales=(1, 9)), r"glimpse_size \* max\(scales\) = 32 \* 9 = 288 px must be at most 8 x"),
    (dict(ior_radius=1e19), r"ior_radius must be a finite number in \[0.01, 65536\]"),
    (dict(ior_radius=float("nan")), r"ior_radius must be a finite number in \[0.01, 65536\]"),
    (dict(ior_radius=1e-200), r"ior_radius must be a finite number in \[0.01, 65536\]"),
    (dict(ior_decay=float("nan"), ior="gaussian"), r"ior_decay must be a finite number in \(0, 1\]"),
    (dict(max_saccades=2 ** 40), r"max_saccades must be an int in \[1, 10000\]"),
    (dict(render_scale=10 ** 6), r"render_scale must be an int in \[1, 32\]"),
    (dict(saliency_cache_size=2 ** 62), r"saliency_cache_size must be an int in \[0,"),
])
def test_saccade_keywords_name_themselves_and_their_range(data, kwargs, match):
    dataset, maps = data
    with pytest.raises(ValueError, match=match):
        SaccadeWorld(1, dataset, saliency_maps=maps, **kwargs)


def test_non_integer_ior_radius_is_used_as_given(data):
    dataset, maps = data
    world = SaccadeWorld(1, dataset, saliency_maps=maps, ior_radius=2.7)
    assert world.ior_radius == 2.7 and world.priority.radius == 2.7
    assert SaccadeWorld(1, dataset, saliency_maps=maps, ior_radius=16).ior_radius == 16


def test_saliency_maps_outside_float32_are_rejected(data):
    dataset, maps = data
    with pytest.raises(ValueError, match="saliency_maps must be finite, non-negative and within float32's range"):
        SaccadeWorld(1, dataset, saliency_maps=maps.astype(np.float64) * 1e300)


@SETTINGS
@given(key=st.sampled_from(["max_saccades", "ior_radius", "ior_decay", "render_scale", "glimpse_size",
                            "saliency_cache_size"]), value=NUMBERS)
def test_saccade_keywords_property(data, key, value):
    dataset, maps = data
    kwargs = {key: value, **({"ior": "gaussian"} if key == "ior_decay" else {})}
    try:
        world = SaccadeWorld(2, dataset, saliency_maps=maps, **{"glimpse_size": 8, **kwargs})
    except ValueError as exc:
        assert key in str(exc), str(exc)
        return
    world.reset_rows(np.arange(2), [np.random.default_rng(i) for i in range(2)], [{}, {}])
    world.apply(np.arange(2), np.full((2, 2), 0.1, np.float32), [np.random.default_rng(0)] * 2, np.zeros(2, bool))
    assert np.all(np.isfinite(world.priority.priority))


@pytest.mark.parametrize("kwargs,match", [
    (dict(n_worlds=2 ** 40), r"n_worlds must be an int in \[1, 65536\]"),
    (dict(world_size=10 ** 6), r"world_size must be an int in \[16, 4096\]"),
    (dict(n_worlds=4096, world_size=4096), r"n_worlds \* world_size \*\* 2 must be at most"),
    (dict(tiles=1000), r"tiles must be an int in \[1, 8\]"),
    (dict(seed=-1), r"seed must be an int in \[0, 9223372036854775807\]"),
    (dict(max_step=float("inf")), r"max_step must be a finite number in \(0, 1\]"),
    (dict(action_noise=1e200), r"action_noise must be a finite number in \[0, 1\]"),
    (dict(render_size=10 ** 9), r"render_size must be an int in \[16, 8192\]"),
    (dict(max_steps=2 ** 62), r"max_steps must be an int in \[1, 10000\]"),
    (dict(glimpse_size=128, scales=(1, 8)), r"must be at most 8 x the image's longer side \(64 px\)"),
])
def test_path_keywords_are_checked_before_the_worlds_are_generated(kwargs, match, monkeypatch):
    import envs.families.path_world as pw

    monkeypatch.setattr(pw, "make_worlds", lambda *a, **k: pytest.fail("worlds generated before the checks"))
    with pytest.raises(ValueError, match=match):
        PathWorld(1, **{"world_size": 64, **kwargs})


def test_make_worlds_ranges():
    with pytest.raises(ValueError, match=r"size must be an int in \[16, 4096\]"):
        make_worlds(1, 2 ** 40)


@pytest.mark.parametrize("kwargs,match", [
    (dict(n_objects=2 ** 40), r"n_objects must be an int in \[1, 100000\]"),
    (dict(image_size=10 ** 5), r"image_size must be an int in \[8, 2048\]"),
    (dict(supersample=100), r"supersample must be an int in \[1, 8\]"),
    (dict(max_angle=1e200), r"max_angle must be a finite number in \(0, 3.14159\]"),
    (dict(background=(0, 0, 1e9)), r"background must be three ints"),
    (dict(glimpse_size=64, scales=(1, 16)), r"must be at most 8 x the image's longer side"),
])
def test_rotation_keywords_are_checked_before_objects_are_made(kwargs, match, monkeypatch):
    import envs.families.rotation_world as rw

    monkeypatch.setattr(rw, "make_objects", lambda *a, **k: pytest.fail("objects made before the checks"))
    with pytest.raises(ValueError, match=match):
        RotationWorld(1, **kwargs)


def test_huge_rotation_action_keeps_its_axis():
    out = scale_rotation_actions(np.array([[1e200, 0, 0], [1e300, -1e300, 0], [0.3, 0, 0]]), np.pi / 2)
    np.testing.assert_allclose(out[0], [np.pi / 2, 0, 0])
    np.testing.assert_allclose(out[1], [np.pi / 2 / np.sqrt(2), -np.pi / 2 / np.sqrt(2), 0])
    np.testing.assert_allclose(out[2], [0.3 * np.pi / 2, 0, 0])
    with pytest.raises(ValueError, match="actions must be finite"):
        scale_rotation_actions(np.array([[np.nan, 0, 0]]), 1.0)


def test_action_outside_float32_range_is_an_error_naming_the_action():
    env = gym.make("envs:Rotation3D-Shapes-v0", n_objects=2, image_size=16)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action lies outside the float32 range"):
        env.step(np.array([1e200, 0.0, 0.0]))
    _, _, _, _, info = env.step(np.array([1.0, 0.0, 0.0]))  # the largest action still turns
    assert abs(info["relative_rotation"][0]) < 0.99


def test_env_saliency_is_a_copy(data):
    dataset, maps = data
    env = SaccadeEnv(dataset, saliency_maps=maps.copy(), glimpse_size=8)
    env.reset(seed=0, options={"index": 1})
    before = env.saliency.copy()
    env.saliency[:] = 123.0
    env.reset(seed=0, options={"index": 1})
    np.testing.assert_array_equal(env.saliency, before)
    np.testing.assert_array_equal(env.world.priority.saliency[0], before)


def test_retina_rejects_unbounded_arguments():
    for bad in (0, 1025, 2.5, True):
        with pytest.raises(ValueError, match="glimpse_size"):
            Retina(bad)
    with pytest.raises(ValueError, match="scales"):
        Retina(8, tuple(range(1, 18)))
