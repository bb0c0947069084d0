"""ap_gym's protocol wrappers, hardened (issue 28): a partial reset keeps the other rows'
pending autoreset, actions of any other shape are refused (never reshaped onto scrambled rows), the single
env passes Gymnasium's check_env, wrapping twice is a no-op, and the loss refuses targets and logits it would
misread."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import envs  # noqa: F401
from envs.wrappers.active_perception import CrossEntropyLoss, active_perception, make_active
from tests.envs.helpers import random_active_action

ENV_ID = "Saccade-Shapes-Classify-v0"


@pytest.fixture(scope="module")
def venv():
    v = make_active(ENV_ID, 2)
    yield v
    v.close()


def _action(venv, seed=0):
    return random_active_action(venv.action_space, seed)


# ---------------------------------------------------------------- 3. partial reset
def test_a_partial_reset_keeps_the_other_rows_pending_autoreset(venv):
    venv.reset(seed=0)
    for t in range(venv.max_steps):  # every row's episode ends on the last step
        _, _, term, trunc, _ = venv.step(_action(venv, t))
    assert (term | trunc).all()
    venv.reset(options={"reset_mask": np.array([False, True])})  # row 1 starts over, row 0 still has to
    _, reward, _, _, info = venv.step(_action(venv, 99))
    assert reward[0] == 0.0 and info["prediction"]["loss"][0] == 0.0 and info["base_reward"][0] == 0.0
    assert info["predicted_class"][0] == -1 and not info["correct"][0]
    assert info["prediction"]["loss"][1] > 0.0 and info["predicted_class"][1] >= 0  # row 1 stepped: scored
    _, reward, _, _, info = venv.step(_action(venv, 100))  # row 0 now stepped in its new episode
    assert info["prediction"]["loss"][0] > 0.0


def test_a_full_reset_clears_every_pending_autoreset(venv):
    venv.reset(seed=1)
    for t in range(venv.max_steps):
        venv.step(_action(venv, t))
    venv.reset(options={"reset_mask": np.array([True, True])})
    _, _, _, _, info = venv.step(_action(venv, 7))
    assert (info["prediction"]["loss"] > 0).all()


# ---------------------------------------------------------------- 4. action shapes
@settings(max_examples=60, deadline=None)
@given(move=st.lists(st.integers(1, 12), min_size=0, max_size=3), pred=st.lists(st.integers(1, 12), min_size=0,
                                                                                  max_size=3))
def test_vector_actions_of_any_other_shape_are_refused_and_nothing_moves(venv, move, pred):
    n, a, k = venv.num_envs, venv.single_action_space["action"].shape[0], venv.n_classes
    move, pred = tuple(move), tuple(pred)
    venv.reset(seed=3)
    before = venv.unwrapped.world.fixations.copy() if hasattr(venv.unwrapped, "world") and hasattr(
        venv.unwrapped.world, "fixations") else None
    action = {"action": np.zeros(move, np.float32), "prediction": np.zeros(pred, np.float32)}
    if move == (n, a) and pred == (n, k):
        venv.step(action)
        return
    with pytest.raises(ValueError, match=r"must have shape"):
        venv.step(action)
    if before is not None:
        np.testing.assert_array_equal(venv.unwrapped.world.fixations, before)


@pytest.mark.parametrize("bad", ["transposed", "flat", "rows_swapped_move"])
def test_the_issues_misshapen_actions_are_refused(bad):
    v = make_active(ENV_ID, 3)
    v.reset(seed=0)
    k = v.n_classes
    action = {"action": np.zeros((3, 2), np.float32), "prediction": np.zeros((3, k), np.float32)}
    if bad == "transposed":
        action["prediction"] = np.zeros((k, 3), np.float32)
    elif bad == "flat":
        action["prediction"] = np.zeros(3 * k, np.float32)
    else:
        action["action"] = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="must have shape"):
        v.step(action)
    v.close()


@pytest.mark.parametrize("dtype", [bool, np.complex64, object])
def test_bool_complex_and_object_actions_are_refused(venv, dtype):
    venv.reset(seed=0)
    action = _action(venv)
    action["prediction"] = action["prediction"].astype(dtype)
    with pytest.raises(ValueError, match="must hold real numbers"):
        venv.step(action)


def test_single_env_actions_must_have_the_spaces_shapes():
    env = make_active(ENV_ID)
    env.reset(seed=0)
    k = env.n_classes
    for move, pred in (((1, 2), (1, k)), ((2,), (k, 1)), ((2,), (k + 1,))):
        with pytest.raises(ValueError, match="must have shape"):
            env.step({"action": np.zeros(move, np.float32), "prediction": np.zeros(pred, np.float32)})
    env.step({"action": np.zeros(2, np.float32), "prediction": np.zeros(k, np.float32)})
    env.close()


# ---------------------------------------------------------------- 17. check_env, wrapping twice, the loss
def test_single_wrapper_passes_gymnasiums_check_env():
    from gymnasium.utils.env_checker import check_env
    env = make_active(ENV_ID)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=0)
    done = False
    while not done:
        _, _, term, trunc, info = env.step(env.action_space.sample())
        done = term or trunc
        assert ("accuracy" in info) == done  # like the wrapped env: on the last step only
    env.close()


def test_wrapping_twice_returns_the_wrapped_env():
    single = make_active(ENV_ID)
    assert active_perception(single) is single
    vector = make_active(ENV_ID, 2)
    assert active_perception(vector) is vector
    logged = gym.wrappers.RecordEpisodeStatistics(single)
    assert active_perception(logged) is logged
    single.close()
    vector.close()


@pytest.mark.parametrize("target, match", [
    (np.array([-1, 0]), r"class indices in \[0, 3\), got values in \[-1, 0\]"),
    (np.array([0, 3]), r"class indices in \[0, 3\)"),
    (np.array([0.7, 1.2]), "target must hold integer class indices"),
    (np.array([True, False]), "target must hold integer class indices"),
])
def test_loss_refuses_targets_it_would_misread(target, match):
    with pytest.raises(ValueError, match=match):
        CrossEntropyLoss(3)(np.zeros((2, 3)), target)


@pytest.mark.parametrize("logits", [np.zeros((2, 3), bool), np.zeros((2, 3), np.complex128)])
def test_loss_refuses_bool_and_complex_logits(logits):
    with pytest.raises(ValueError, match="prediction must hold real logits"):
        CrossEntropyLoss(3)(logits, np.zeros(2, int))


def test_torch_loss_checks_shapes_targets_and_dtypes():
    torch = pytest.importorskip("torch")
    loss = CrossEntropyLoss(5)
    with pytest.raises(ValueError, match=r"class indices in \[0, 5\), got values in \[0, 7\]"):
        loss.torch(torch.zeros(2, 5), torch.tensor([0, 7]))
    with pytest.raises(ValueError, match="must have shape"):
        loss.torch(torch.zeros(2, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="must have shape"):
        loss.torch(torch.zeros(3, 5), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="integer class indices"):
        loss.torch(torch.zeros(2, 5), torch.tensor([0.5, 1.0]))
    with pytest.raises(ValueError, match="real logits"):
        loss.torch(torch.zeros(2, 5, dtype=torch.complex64), torch.tensor([0, 1]))
    assert loss.torch(torch.zeros(2, 5), torch.tensor([0, 4])).shape == (2,)


@settings(max_examples=80, deadline=None)
@given(k=st.integers(1, 6), target=st.lists(st.integers(-3, 8), min_size=1, max_size=5),
       dtype=st.sampled_from([np.int64, np.int32, np.uint8, np.float64, np.float32]))
def test_loss_accepts_exactly_integer_targets_in_range(k, target, dtype):
    torch = pytest.importorskip("torch")
    t = np.array(target)
    if dtype is np.uint8 and (t < 0).any():
        return
    t = t.astype(dtype)
    logits = np.random.default_rng(0).normal(size=(len(target), k))
    valid = np.dtype(dtype).kind in "iu" and all(0 <= v < k for v in target)
    for call in (lambda: CrossEntropyLoss(k)(logits, t),
                 lambda: CrossEntropyLoss(k).torch(torch.tensor(logits), torch.tensor(t))):
        if valid:
            out = np.asarray(call().detach() if hasattr(call(), "detach") else call())
            expected = np.log(np.exp(logits).sum(1)) - logits[np.arange(len(target)), t.astype(int)]
            np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-9)
        else:
            with pytest.raises(ValueError):
                call()
