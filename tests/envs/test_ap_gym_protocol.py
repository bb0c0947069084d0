"""ap_gym's active-perception protocol on our recognition ids (envs.wrappers.active_perception)."""

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
    v = make_active(ENV_ID, 3)
    yield v
    v.close()


def _action(space, seed=0):
    return random_active_action(space, seed)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 12), st.integers(1, 5), st.integers(0, 2**31 - 1))
def test_loss_is_the_cross_entropy_in_numpy_and_torch(k, n, seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 4, (n, k))
    target = rng.integers(0, k, n)
    loss_fn = CrossEntropyLoss(k)
    expected = np.log(np.exp(logits).sum(1)) - logits[np.arange(n), target]
    np.testing.assert_allclose(loss_fn(logits, target), expected, rtol=1e-9, atol=1e-9)
    t = loss_fn.torch(torch.tensor(logits, requires_grad=True), torch.tensor(target))
    np.testing.assert_allclose(t.detach().numpy(), expected, rtol=1e-6, atol=1e-6)
    assert t.requires_grad
    assert loss_fn(np.zeros((n, k)), target) == pytest.approx(np.full(n, np.log(k)))
    assert loss_fn.blind_guessing_expected_value == pytest.approx(np.log(k))


def test_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="prediction must have shape"):
        CrossEntropyLoss(3)(np.zeros((2, 4)), np.zeros(2, int))


def test_vector_step_reports_target_loss_and_reward_as_ap_gym(venv):
    k = venv.n_classes
    assert venv.single_action_space["action"].shape == (2,)
    assert venv.single_action_space["prediction"].shape == (k,)
    assert venv.single_prediction_target_space == gym.spaces.Discrete(k)
    obs, info = venv.reset(seed=1)
    np.testing.assert_array_equal(info["prediction"]["target"], info["label"])
    action = _action(venv.action_space)
    obs, reward, term, trunc, info = venv.step(action)
    loss = venv.loss_fn(action["prediction"], info["label"])
    np.testing.assert_allclose(info["prediction"]["loss"], loss)
    np.testing.assert_allclose(info["base_reward"], 0.0, atol=1e-12)  # saccades cost nothing
    np.testing.assert_allclose(reward, -loss)
    np.testing.assert_array_equal(info["predicted_class"], np.argmax(action["prediction"], 1))
    np.testing.assert_array_equal(info["correct"], np.argmax(action["prediction"], 1) == info["label"])


def test_autoreset_step_scores_nothing_and_last_step_reports_accuracy(venv):
    venv.reset(seed=2)
    for t in range(venv.max_steps):
        _, reward, _, trunc, info = venv.step(_action(venv.action_space, seed=t))
    assert trunc.all() and info["_accuracy"].all()
    np.testing.assert_array_equal(info["accuracy"], info["correct"].astype(float))
    _, reward, _, trunc, info = venv.step(_action(venv.action_space, seed=9))
    np.testing.assert_array_equal(reward, 0.0)
    np.testing.assert_array_equal(info["prediction"]["loss"], 0.0)
    assert not trunc.any()


def test_single_env_matches_protocol_and_box_contract_is_unchanged():
    env = make_active(ENV_ID)
    obs, info = env.reset(seed=3)
    assert info["prediction"] == {"target": int(info["label"])}
    action = _action(env.action_space)
    _, reward, _, _, info = env.step(action)
    assert reward == pytest.approx(-float(env.loss_fn(action["prediction"][None], np.array([info["label"]]))[0]))
    assert "accuracy" not in info  # like the wrapped env: the last step only
    box = gym.make(ENV_ID)
    assert isinstance(box.action_space, gym.spaces.Box) and box.action_space.shape == (2 + env.n_classes,)
    env.close()
    box.close()


def test_bad_actions_and_envs_get_one_line_errors(venv):
    venv.reset(seed=0)
    with pytest.raises(TypeError, match="action must be a dict"):
        venv.step(np.zeros((3, 12), np.float32))
    with pytest.raises(ValueError, match=r"action\['prediction'\]"):
        venv.step({"action": np.zeros((3, 2)), "prediction": np.zeros((3, 4))})
    with pytest.raises(ValueError, match="active-recognition env"):
        active_perception(gym.make("Saccade-Shapes-v0"))


def test_ap_gym_accepts_our_envs_and_its_log_wrapper_runs(venv):
    ap_gym = pytest.importorskip("ap_gym")
    from envs.wrappers.active_perception import register_ap_gym
    assert register_ap_gym()
    assert ap_gym.ensure_active_perception_vector_env(venv) is venv
    single = make_active(ENV_ID)
    assert ap_gym.ensure_active_perception_env(single) is single
    logged = ap_gym.ActiveClassificationVectorLogWrapper(venv)
    assert logged.loss_fn is venv.loss_fn
    logged.reset(seed=4)
    for t in range(venv.max_steps):
        action = _action(venv.action_space, seed=t)
        _, _, _, trunc, info = logged.step(action)
    assert trunc.all()
    stats = info["stats"]["scalar"]
    np.testing.assert_array_equal(stats["final_accuracy"], info["correct"].astype(np.float32))
    single_logged = ap_gym.ActiveClassificationLogWrapper(single)
    single_logged.reset(seed=5)
    done = False
    while not done:
        _, _, term, trunc, info = single_logged.step(_action(single.action_space))
        done = term or trunc
    assert info["stats"]["scalar"]["final_accuracy"] == float(info["correct"])
    single.close()
