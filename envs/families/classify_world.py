"""``ClassifyWorld``: active recognition on top of any labelled world (ap_gym's active classification).

The action is the inner world's action followed by ``K`` class scores: ``[move (A), scores (K)]``,
all in ``[-1, 1]``. The move goes to the inner world; the scores, times ``logit_scale``, are the
agent's class logits *before* it sees the view its move leads to. The reward of every step is
the log-probability the prediction gives the true class, ``log softmax(logit_scale * scores)[label]``
(the negative cross-entropy: 0 for a certain, right prediction; ``-log K`` for a uniform one), so
looking where the class shows pays. ``info`` adds ``prediction`` (argmax class) and ``correct``;
the last step of an episode also reports ``accuracy`` (1.0 or 0.0 for that final prediction;
in a vector env, ``infos["_accuracy"]`` marks the rows that report it).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from scipy.special import log_softmax

from envs.engine.keywords import real_in
from envs.engine.world import World, delegate
from envs.families import Family

__all__ = ["ClassifyWorld"]


class ClassifyWorld(World):
    """``inner``'s rows with a class prediction added to the action (module docstring).

    Args:
        inner: a world whose items all carry a label in ``[0, n_classes)`` (``item_labels``).
        logit_scale: class logits = ``logit_scale * scores`` (scores in [-1, 1]).
    """

    data_arguments = ("inner",)
    keyword_ranges = {"logit_scale": real_in(0.0, 100.0, lo_open=True)}

    @classmethod
    def split_keywords(cls, kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """``kwargs`` as (the task's own keywords, checked, with their defaults; the inner world's)."""
        own = cls.keyword_defaults()
        return (cls.keyword_values({k: v for k, v in kwargs.items() if k in own}),
                {k: v for k, v in kwargs.items() if k not in own})

    def __init__(self, inner: World, logit_scale: float = 5.0) -> None:
        labels = np.asarray(inner.item_labels)
        if labels.size == 0 or labels.min() < 0:
            raise ValueError("active recognition needs a labelled dataset: every item needs a class (got labels "
                             f"in [{labels.min() if labels.size else '-'}, ...]); use a labelled split such as 'train'")
        self.inner = inner
        dataset = getattr(inner, "dataset", None)
        names = tuple(dataset.class_names if dataset is not None else getattr(inner, "class_names", ()))
        self.n_classes = max(len(names), int(labels.max()) + 1)  # every class of the data, seen or not
        self.logit_scale = self.keyword_values({"logit_scale": logit_scale})["logit_scale"]
        self.action_dim = inner.action_dim + self.n_classes
        self.last_action_dim = inner.transform_dim
        self.action_meaning = f"{inner.action_meaning} followed by {self.n_classes} class scores"
        self.reset_options = inner.reset_options
        self.reset_option_shapes = inner.reset_option_shapes
        self.window_caption = inner.window_caption + " (classify)"
        super().__init__(inner.n, inner.retina, inner.channels, inner.max_steps, inner.action_scale,
                         inner.last_action_bound)
        self._prediction = np.full(self.n, -1, np.int64)
        self._correct = np.zeros(self.n, bool)
        self._accuracy = np.full(self.n, np.nan)

    @property
    def family(self) -> Family:  # type: ignore[override]
        """The inner world's family (a recognition task does not change what a state is)."""
        return self.inner.family

    def __getattr__(self, name: str) -> Any:
        """The inner world's attributes (``dataset``, ``image_shape``, ...)."""
        return delegate(self, "inner", name)

    @property
    def n_items(self) -> int:
        return self.inner.n_items

    @property
    def item_labels(self) -> np.ndarray:
        return self.inner.item_labels

    def check_reset_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return self.inner.check_reset_options(options)

    def reset_rows(self, rows: np.ndarray, rngs: Sequence[np.random.Generator],
                   options: Sequence[dict[str, Any]]) -> None:
        self.inner.reset_rows(rows, rngs, options)
        self._prediction[rows] = -1
        self._correct[rows] = False
        self._accuracy[rows] = np.nan

    def apply(self, rows: np.ndarray, actions: np.ndarray, rngs: Sequence[np.random.Generator],
              last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = self.inner.action_dim
        applied, inner_reward = self.inner.apply(rows, actions[:, :a], rngs, last)  # first: it may refuse the rows
        labels = self.inner.item_labels[self.inner.index[rows]]
        logp = log_softmax(self.logit_scale * np.asarray(actions[:, a:], np.float64), axis=1)
        reward = logp[np.arange(len(rows)), labels]
        self._prediction[rows] = np.argmax(actions[:, a:], axis=1)
        self._correct[rows] = self._prediction[rows] == labels
        self._accuracy[rows] = np.where(last, self._correct[rows].astype(np.float64), np.nan)
        return applied, reward + inner_reward

    def glimpses(self) -> np.ndarray:
        return self.inner.glimpses()

    def info(self) -> dict[str, np.ndarray]:
        info = self.inner.info()
        info["prediction"] = self._prediction.copy()
        info["correct"] = self._correct.copy()
        final = ~np.isnan(self._accuracy)
        info["accuracy"] = np.where(final, self._accuracy, 0.0)
        info["_accuracy"] = final  # reported on an episode's last step only (Gymnasium's info mask)
        return info

    def render_frame(self, row: int = 0, **kwargs: Any) -> np.ndarray:
        return self.inner.render_frame(row, **kwargs)
