"""The world model's candidate saccades in the viewer: scores as a heat map over the image, the choice marked.

:class:`CandidateScores` runs the world-model agent (``agents.world_model.WorldModelAgent``) of a seq-JEPA
checkpoint beside the viewer's env: it follows every view, scores a ``grid x grid`` lattice of landing points
inside the env's fixation bounds, and :func:`candidate_panel` draws those scores over the image with the
chosen saccade (the best candidate) marked. Key ``c`` (``--candidates`` at start) shows it; while shown, the
space key makes the world model's saccade.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from checks import check_choice, check_int
from envs.engine.coordinates import norm_to_pixel
from envs.render.drawing import heatmap, to_rgb, upscale

__all__ = ["CandidateScores", "CandidateView", "candidate_panel", "CANDIDATE_SCORES", "MAX_GRID"]

CANDIDATE_SCORES = ("novelty", "disagreement")  # the scores that need no class head
MAX_GRID = 64
CHOICE_COLOR = (60, 255, 120)
FIXATION_COLOR = (255, 255, 255)


class CandidateView:
    """One state's candidates: ``scores`` float64 ``[grid, grid]`` (rows of the lattice top to bottom),
    ``targets`` int64 ``[grid * grid, 2]`` landing pixels, ``best`` (index of the chosen one), ``action``
    float32 ``[2]`` (its saccade), ``fixation`` int64 ``[2]`` (where the eye is)."""

    def __init__(self, scores: np.ndarray, targets: np.ndarray, best: int, action: np.ndarray,
                 fixation: np.ndarray) -> None:
        self.scores, self.targets, self.best, self.action, self.fixation = scores, targets, best, action, fixation


class CandidateScores:
    """The world-model agent of ``checkpoint`` scoring a ``grid x grid`` lattice of saccades (``score``:
    novelty or disagreement). ValueError naming the option on bad settings or a checkpoint that cannot load."""

    def __init__(self, checkpoint: str | Path, grid: int = 12, score: str = "novelty") -> None:
        self.grid = check_int("--candidate-grid", grid, 2, MAX_GRID)
        self.score = check_choice("--candidate-score", score, CANDIDATE_SCORES)
        from seqjepa import load_pretrained
        try:
            self.model, self.meta = load_pretrained(checkpoint)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a usage error naming it
            raise ValueError(f"--checkpoint {checkpoint}: no world model to score candidates with "
                             f"({' '.join(str(exc).split())[:200]})") from None
        self.agent: Any = None
        self.error = ""
        self.image_shape: tuple[int, int] = (1, 1)

    def attach(self, env: Any) -> bool:
        """Build the agent for ``env`` (a new env after a rebuild); False, with ``error`` set, where the checkpoint
        does not fit it."""
        from agents.world_model import WorldModelAgent
        try:
            self.agent = WorldModelAgent(self.model, env, k=self.grid ** 2, candidates="grid", score=self.score,
                                         meta=self.meta, seed=0)
        except ValueError as exc:
            self.agent, self.error = None, str(exc)
            return False
        self.error = ""
        self.image_shape = tuple(self.agent.batched.image_shape)
        return True

    def restart(self, obs: dict[str, Any], info: dict[str, Any]) -> None:
        """A new episode: forget the views, take the first."""
        if self.agent is not None:
            self.agent.reset(0)
            self.agent.observe(obs, info)

    def observe(self, obs: dict[str, Any], info: dict[str, Any]) -> None:
        """The view a step reached."""
        if self.agent is not None:
            self.agent.observe(obs, info)

    def view(self, obs: dict[str, Any], info: dict[str, Any]) -> CandidateView | None:
        """Score the lattice from the current state (None without an agent)."""
        if self.agent is None:
            return None
        plan = self.agent.plan(obs, info)
        batched = self.agent.batched
        targets = norm_to_pixel(batched.targets(*_one(info), plan.candidates)[0], self.image_shape)
        best = int(plan.best[0])
        return CandidateView(plan.scores[0].reshape(self.grid, self.grid), targets, best,
                             plan.candidates[0, best].copy(), np.asarray(info["fixation"], np.int64))


def _one(info: dict[str, Any]) -> tuple[dict[str, Any]]:
    return ({"position": np.asarray(info["position"], np.float32)[None]},)


def candidate_panel(image: np.ndarray, view: CandidateView, w: int, h: int) -> np.ndarray:
    """uint8 RGB ``[h, w, 3]``: ``image`` ``[H, W, C]`` under a heat map of the candidates' scores (each lattice
    cell coloured by its candidate's score, min to max; outside the fixation bounds dimmed), a dot on each
    landing point, the current fixation (white) and the chosen saccade (green arrow and ring)."""
    hi, wi = image.shape[:2]
    k = max(1, math.ceil(max(w / wi, h / hi)))
    canvas = upscale(to_rgb(image), k).astype(np.float32)
    grid = view.scores.shape[0]
    t = view.targets.reshape(grid, grid, 2)
    # cell edges: half-way between neighbouring landing points, the lattice's outer edges beyond its ends
    rows = _edges(t[:, 0, 0], hi) * k
    cols = _edges(t[0, :, 1], wi) * k
    s = view.scores
    span = float(s.max() - s.min())
    norm = (s - s.min()) / span if span > 0 else np.full_like(s, 0.5)
    heat = heatmap(norm + 1e-6)  # [grid, grid, 3]
    dimmed = canvas * 0.35
    out = dimmed.copy()
    for i in range(grid):
        for j in range(grid):
            r0, r1, c0, c1 = rows[i], rows[i + 1], cols[j], cols[j + 1]
            out[r0:r1, c0:c1] = 0.45 * canvas[r0:r1, c0:c1] + 0.55 * heat[i, j].astype(np.float32)
    out = np.clip(out, 0, 255).astype(np.uint8)
    for r, c in view.targets:
        cv2.circle(out, (int(c) * k, int(r) * k), max(1, k // 2), (20, 20, 24), -1, cv2.LINE_AA)
    fr, fc = (int(v) * k for v in view.fixation)
    br, bc = (int(v) * k for v in view.targets[view.best])
    cv2.arrowedLine(out, (fc, fr), (bc, br), CHOICE_COLOR, max(1, k // 2), cv2.LINE_AA, tipLength=0.08)
    cv2.circle(out, (bc, br), max(5, 2 * k + 3), CHOICE_COLOR, max(2, k // 2 + 1), cv2.LINE_AA)
    cv2.circle(out, (fc, fr), max(3, k), FIXATION_COLOR, -1, cv2.LINE_AA)
    interp = cv2.INTER_AREA if w < out.shape[1] else cv2.INTER_NEAREST
    return cv2.resize(out, (w, h), interpolation=interp) if out.shape[:2] != (h, w) else out


def _edges(centres: np.ndarray, size: int) -> np.ndarray:
    """int ``[n + 1]`` pixel edges of the cells around sorted lattice ``centres`` ``[n]`` (clipped to the image)."""
    c = centres.astype(np.float64)
    step = float(np.diff(c).mean()) if len(c) > 1 else float(size)
    mids = (c[:-1] + c[1:]) / 2
    edges = np.concatenate([[c[0] - step / 2], mids, [c[-1] + step / 2]])
    return np.clip(np.rint(edges), 0, size).astype(np.int64)
