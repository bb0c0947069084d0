"""A call that raises changes nothing: every row's view, info, step count and random generator.

For every registered id, single env and native vector env: hypothesis draws resets (seeds and
every option key, valid or not, one value or one per row, with or without ``reset_mask``) and
steps (valid or not). A call raises exactly when some input is invalid, with a ValueError naming
it; after one that raises, the env and a copy taken before the call go on identically.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.envs.small_envs import PROJECT_IDS, make_data_root, make_small

N = 3
_ENVS: dict = {}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return make_data_root(tmp_path_factory.mktemp("data"))


def env_for(env_id: str, vector: bool, root):
    """One env per (id, kind) for the whole module, reset once with seed 0."""
    key = (env_id, vector)
    if key not in _ENVS:
        env = make_small(env_id, root, N if vector else None)
        env.reset(seed=0)
        _ENVS[key] = env
    return _ENVS[key]


# ---------------------------------------------------------------- inputs, each with its validity
def _bad_number():
    return st.one_of(st.booleans(), st.floats(allow_nan=True), st.text(max_size=2), st.none(),
                     st.lists(st.integers(0, 2), min_size=1, max_size=2))


def index_values(n: int):
    """``(value, valid)`` for an int option in ``[0, n)``."""
    ok = st.one_of(st.integers(0, n - 1), st.integers(0, n - 1).map(np.int64)).map(lambda v: (v, True))
    bad = st.one_of(st.integers(-5, -1), st.integers(n, n + 5), _bad_number()).map(lambda v: (v, False))
    return st.one_of(ok, bad)


def vector_values(size: int, nonzero: bool):
    """``(value, valid)`` for a real vector option of ``size`` finite numbers (a rotation: non-zero)."""
    finite = st.floats(-2.0, 2.0, allow_nan=False)
    ok = st.lists(finite, min_size=size, max_size=size).filter(
        lambda v: not nonzero or np.linalg.norm(v) > 0.01).map(lambda v: (v, True))
    special = st.sampled_from([np.nan, np.inf, -np.inf])
    non_finite = st.tuples(st.lists(finite, min_size=size, max_size=size), st.integers(0, size - 1), special).map(
        lambda t: (t[0][:t[1]] + [t[2]] + t[0][t[1] + 1:], False))
    wrong = st.one_of(st.lists(finite, min_size=size + 1, max_size=size + 2), st.text(min_size=1, max_size=4),
                      st.just([0.0] * size if nonzero else "xy")).map(lambda v: (v, False))
    return st.one_of(ok, non_finite, wrong)


def option_values(world, key: str):
    if key == "index":
        return index_values(world.n_items)
    if key == "view":
        return index_values(world.bank.num_views)
    return vector_values(world.reset_option_shapes[key][0], nonzero=key == "rotation")


def seeds(per_row: bool):
    """``(seed, valid)``: None, an int >= 0 or not; with ``per_row`` also a list of N seeds."""
    one = st.one_of(st.just((None, True)), st.integers(0, 2 ** 40).map(lambda s: (s, True)),
                    st.integers(-9, -1).map(lambda s: (s, False)),
                    _bad_number().filter(lambda s: s is not None).map(lambda s: (s, False)))
    if not per_row:
        return one
    row = st.one_of(st.integers(0, 99).map(lambda s: (s, True)), st.integers(-9, -1).map(lambda s: (s, False)),
                    st.booleans().map(lambda s: (s, False)))
    rows = st.lists(row, min_size=N - 1, max_size=N + 1).map(
        lambda pairs: ([s for s, _ in pairs], len(pairs) == N and all(ok for _, ok in pairs)))
    return st.one_of(one, rows)


@st.composite
def reset(draw, world, per_row: bool):
    """``(("reset", seed, options), valid)``; with ``per_row`` (a vector env) an option may hold one
    value per row and ``reset_mask`` may be given."""
    options, valid = {}, True
    for key in draw(st.lists(st.sampled_from(world.reset_options), unique=True)):
        if per_row and draw(st.booleans()):
            pairs = draw(st.lists(option_values(world, key), min_size=N, max_size=N))
            options[key], ok = [v for v, _ in pairs], all(ok for _, ok in pairs)
        else:
            options[key], ok = draw(option_values(world, key))
        valid &= ok
    if draw(st.integers(0, 9)) == 0:
        options["colour"], valid = 1, False
    if per_row and draw(st.integers(0, 3)) == 0:
        mask = np.array(draw(st.lists(st.booleans(), min_size=N, max_size=N)))
        ok = draw(st.integers(0, 4)) > 0
        options["reset_mask"] = mask if ok else mask.astype(int)
        valid &= ok
    seed, ok = draw(seeds(per_row))
    if draw(st.integers(0, 14)) == 0:
        return ("reset", seed, [("index", 0)]), False  # options that are not a dict
    return ("reset", seed, options), valid and ok


@st.composite
def step(draw, shape):
    action = draw(st.lists(st.floats(-1.5, 1.5), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    action = np.array(action, np.float32).reshape(shape)
    kind = draw(st.sampled_from(["ok", "nan", "inf", "shape"]))
    if kind == "ok":
        return ("step", action), True
    if kind == "shape":
        return ("step", action.reshape(-1)[:-1]), False
    flat = action.reshape(-1).copy()
    flat[draw(st.integers(0, flat.size - 1))] = np.nan if kind == "nan" else np.inf
    return ("step", flat.reshape(shape)), False


# ---------------------------------------------------------------- the property
def call(env, what):
    if what[0] == "step":
        return env.step(what[1])
    return env.reset(seed=what[1], options=what[2])


def rng_states(env):
    u = env.unwrapped
    return [g.bit_generator.state for g in u._rngs] if hasattr(u, "_rngs") else [u.np_random.bit_generator.state]


def assert_same(a, b, where):
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, tuple):
        for k, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{k}]")
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=where)


def assert_same_future(env, twin, action_shape):
    """``env`` and ``twin`` hold the same views, infos and generators, and go on alike: steps past
    the end of an episode, then a reset that draws from every generator."""
    assert_same(env.unwrapped.world.glimpses(), twin.unwrapped.world.glimpses(), "glimpses")
    assert_same(env.unwrapped.world.info(), twin.unwrapped.world.info(), "info")
    assert rng_states(env) == rng_states(twin)
    for t in range(4):  # a vector env autoresets; a single env stops at its episode's end
        action = np.full(action_shape, 0.3 - 0.2 * t, np.float32)
        out = env.step(action)
        assert_same(out, twin.step(action), f"step {t}")
        if out[3] is True:
            break
    assert_same(env.reset(), twin.reset(), "reset")


@pytest.mark.parametrize("vector", [False, True], ids=["single", "vector"])
@pytest.mark.parametrize("env_id", PROJECT_IDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_a_call_that_raises_changes_nothing(env_id, vector, root, data):
    env = env_for(env_id, vector, root)
    if not vector and env.unwrapped._steps >= env.unwrapped.max_steps:
        env.reset()  # a single env's episode has ended (stepping on is not this test's business)
    world = env.unwrapped.world
    shape = env.action_space.shape
    what, valid = data.draw(st.one_of(reset(world, vector), step(shape)))
    twin = pickle.loads(pickle.dumps(env))
    try:
        call(env, what)
    except ValueError as e:
        assert not valid, f"{what} raised {e}"
        assert "\n" not in str(e) and ("options" in str(e) or "seed" in str(e) or "action" in str(e)), str(e)
        assert_same_future(env, twin, shape)
    else:
        assert valid, f"{what} was accepted"


@pytest.mark.parametrize("env_id", ["Rotation3D-Shapes-v0", "Rotation3D-Shapes-Classify-v0",
                                    "Rotation3D-3DIEBench-v0", "PathIntegration-Scenes-v0", "Saccade-Scenes-v0"])
def test_the_issues_examples_leave_the_episode_alone(env_id, root):
    env = make_small(env_id, root)
    env.reset(seed=0, options={"index": 1})
    env.step(np.zeros(env.action_space.shape, np.float32))
    twin = pickle.loads(pickle.dumps(env))
    extra = {"Rotation3D": {"rotation": [np.nan, 0, 0, 0]}, "PathInte": {"position": [0.5, np.inf]}}
    bad = {"index": 2, **extra.get(env_id[:10], {"index": 99})}
    if env_id == "Rotation3D-3DIEBench-v0":
        bad = {"index": 2, "view": 7}
    with pytest.raises(ValueError, match=r"options\['(rotation|view|position|index)'\]"):
        env.reset(options=bad)
    assert env.unwrapped.world.info()["index"][0] == 1
    assert_same_future(env, twin, env.action_space.shape)


def test_vector_reset_checks_every_row_and_seed_first(root):
    venv = make_small("Rotation3D-Shapes-v0", root, 4)
    venv.reset(seed=0, options={"index": [0, 1, 2, 3]})
    twin = pickle.loads(pickle.dumps(venv))
    with pytest.raises(ValueError, match=r"options\['index'\].*row 3"):
        venv.reset(options={"index": [1, 1, 1, 99]})
    with pytest.raises(ValueError, match=r"seed\[3\]"):
        venv.reset(seed=[0, 1, 2, -5])
    with pytest.raises(ValueError, match=r"options\['index'\].*True"):
        venv.reset(options={"index": [True, 1, 0, 2]})  # a bool is refused as an index, as by the single env
    with pytest.raises(ValueError, match=r"options\['index'\].*row 2"):  # rows outside reset_mask are checked too
        venv.reset(options={"index": [0, 0, 9, 0], "reset_mask": np.array([True, False, False, False])})
    assert_same_future(venv, twin, venv.action_space.shape)
