"""The active-recognition agent (agents.active): what it sees, what it stores, and that its head learns."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from agents.active import ActiveAgent, AgentConfig, observe  # noqa: E402
from agents.active.agent import EpisodeBuffer  # noqa: E402
from agents.batched import BatchedSaliencyAgent  # noqa: E402
from envs.coordinates import norm_to_pixel  # noqa: E402
from envs.active_perception import make_active  # noqa: E402

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


def test_config_and_movement_errors(venv):
    with pytest.raises(ValueError, match="movement must be one of"):
        AgentConfig(movement="teleport")


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
