"""The active-recognition agent (agents.active): what it sees, what it stores, and that its head learns."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from agents.active import TUNED, ActiveAgent, AgentConfig, observe  # noqa: E402
from agents.active.agent import EpisodeBuffer  # noqa: E402
from agents.batched import BatchedSaliencyAgent  # noqa: E402
from envs.engine.coordinates import norm_to_pixel  # noqa: E402
from envs.wrappers.active_perception import make_active  # noqa: E402

ENV_ID = "Saccade-Shapes-Classify-v0"


@pytest.fixture(scope="module")
def venv():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small nets: one thread is fastest on a shared 2-core machine
    v = make_active(ENV_ID, 4)
    yield v
    v.close()
    torch.set_num_threads(threads)


def test_observe_our_layout_is_scale_major_with_normalised_position_and_time():
    g = np.arange(2 * 2 * 3 * 3 * 3, dtype=np.uint8).reshape(2, 2, 3, 3, 3)  # [N, S, G, G, C]
    info = {"position": np.array([[0.0, 1.0], [0.5, 0.25]], np.float32), "step": np.array([0, 2])}
    glimpse, pos, time = observe({"glimpse": g, "last_action": np.zeros((2, 2))}, info, horizon=4)
    assert glimpse.shape == (2, 6, 3, 3) and glimpse.dtype == np.uint8
    np.testing.assert_array_equal(glimpse[1, 3 + 2], g[1, 1, :, :, 2])  # channel s * C + c
    np.testing.assert_allclose(pos, [[-1.0, 1.0], [0.0, -0.5]])
    np.testing.assert_allclose(time, [-1.0, 0.0])


def test_observe_ap_gym_layout_and_bad_input():
    obs = {"glimpse": np.ones((3, 5, 5, 1), np.float32), "glimpse_pos": np.zeros((3, 2), np.float32),
           "time_step": np.full(3, -1.0, np.float32)}
    glimpse, pos, time = observe(obs, {}, horizon=1)
    assert glimpse.shape == (3, 1, 5, 5) and pos.shape == (3, 2) and time.shape == (3,)
    with pytest.raises(ValueError, match="observe needs"):
        observe({"glimpse": np.zeros((1, 1, 2, 2, 1), np.uint8)}, {}, horizon=1)


@pytest.mark.parametrize("kwargs, named", [
    ({"movement": "teleport"}, "movement must be one of ('learned', 'random', 'still', 'saliency', 'world_model'), got 'teleport'"),
    ({"policy_updates": 0}, "policy_updates must be an int >= 1, got 0"),
    ({"batch_transitions": 2.5}, "batch_transitions must be an int >= 1, got 2.5"),
    ({"learning_starts": -1}, "learning_starts must be an int >= 0"),
    ({"head_lr": 0.0}, "head_lr must be a finite number > 0"),
    ({"gamma": float("nan")}, "gamma must be a finite number in [0, 1]"),
])
def test_config_errors_name_the_field_and_its_range(kwargs, named):
    with pytest.raises(ValueError) as err:
        AgentConfig(**kwargs)
    assert named in str(err.value)


def test_for_env_takes_the_tuned_values_then_the_fields_given():
    default = AgentConfig()
    for env_id, tuned in TUNED.items():
        config = AgentConfig.for_env(env_id, movement="random")
        assert config.movement == "random"
        assert {k: getattr(config, k) for k in tuned} == tuned != {k: getattr(default, k) for k in tuned}
        assert AgentConfig.for_env(env_id, **{k: getattr(default, k) for k in tuned}) == default
    assert AgentConfig.for_env("NoSuchWorld-v0") == AgentConfig.for_env(None) == default
    with pytest.raises(ValueError, match="updates_per_step must be an int >= 0, got -1"):
        AgentConfig.for_env("CircleSquare-v0", updates_per_step=-1)


def test_policy_updates_split_one_perception_batch_into_sac_minibatches(venv, monkeypatch):
    """``policy_updates=k``: one head update, then k SAC updates on disjoint parts of its batch (all of it)."""
    agent = ActiveAgent(venv, AgentConfig(movement="learned", learning_starts=0, updates_per_step=0,
                                          batch_transitions=64, policy_updates=3), seed=2)
    agent.learn(4 * 4 * 10)
    sizes = []
    real_sac = agent._sac
    monkeypatch.setattr(agent, "_sac", lambda s, a, r: sizes.append(s.shape[0]) or real_sac(s, a, r))
    heads = []
    real_step = agent.opt_head.step
    monkeypatch.setattr(agent.opt_head, "step", lambda *a, **k: heads.append(1) or real_step(*a, **k))
    stats = agent.update()
    assert len(heads) == 1 and sizes == [6, 5, 5]  # 64 // 4 = 16 episodes in 3 parts
    assert np.isfinite([stats["critic_loss"], stats["actor_loss"], stats["alpha"]]).all()


def test_buffer_keeps_fixed_length_episodes():
    buf = EpisodeBuffer(2)
    ep = {k: np.zeros((3, 2), np.float32) for k in EpisodeBuffer.KEYS}
    for _ in range(3):
        buf.add(ep)
    assert buf.size == 2
    with pytest.raises(ValueError, match="episodes must all last 3 steps"):
        buf.add({k: np.zeros((4, 2), np.float32) for k in EpisodeBuffer.KEYS})


def test_steps_exclude_autoresets_and_every_finished_episode_is_stored(venv):
    agent = ActiveAgent(venv, AgentConfig(movement="random", updates_per_step=0), seed=0)
    finished = []
    agent.learn(4 * 4 * 3, lambda n, f, s: finished.extend(f))  # 3 episodes per row of 4 steps each
    assert agent.steps == 48
    assert agent.buffer.size == len(finished) == 12
    assert all(e["accuracy"] in (0.0, 1.0) for e in finished)
    assert agent.buffer.data["glimpse"].shape[1:3] == (4, 6)  # T = 4 steps, S * C = 6 channels
    labels = agent.buffer.data["target"][:12]
    assert (labels == labels[:, :1]).all()  # one target per episode


def test_saliency_movement_follows_the_priority_map(venv):
    """A default vector env writes no maps into its infos: the movement comes from its world's
    saliency with IoR, the same saccades as a BatchedSaliencyAgent with the same seed, to pixels the
    priority maps allow."""
    agent = ActiveAgent(venv, AgentConfig(movement="saliency", updates_per_step=0), seed=0)
    assert "priority" not in agent.info
    world = venv.unwrapped.world
    expected = BatchedSaliencyAgent(mode="sample", seed=0, world=world).act(agent.obs, agent.info)
    action, _ = agent.act()
    np.testing.assert_array_equal(action["action"], expected)
    assert action["action"].shape == (4, 2) and np.abs(action["action"]).max() <= 1.0
    assert np.abs(action["action"]).max() > 0.0
    targets = norm_to_pixel(agent.info["position"] + action["action"], world.image_shape)
    maps = world.priority_maps()
    assert all(maps[i][tuple(targets[i])] > 0 for i in range(4))


def test_head_loss_falls_when_training_a_few_hundred_steps(venv):
    """The smoke test of .ci/run: the supervised head learns (loss on a fixed stored batch drops)."""
    agent = ActiveAgent(venv, AgentConfig(movement="learned", learning_starts=0, updates_per_step=0, batch_transitions=128), seed=1)
    agent.learn(320)
    batch = agent.buffer.sample(64, np.random.default_rng(0))

    def head_loss() -> float:
        with torch.no_grad():
            h = agent.perception.unroll(batch["glimpse"], batch["pos"], batch["time"])
            return float(agent.loss_fn.torch(agent.perception.head(h), batch["target"].long()).mean())

    before = head_loss()
    assert before == pytest.approx(np.log(10), rel=0.15)  # an untrained head is near uniform over 10 classes
    stats = [agent.update() for _ in range(60)]
    assert {"head_loss", "critic_loss", "actor_loss", "alpha"} <= set(stats[-1])
    assert head_loss() < 0.9 * before
