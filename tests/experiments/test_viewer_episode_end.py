"""The viewer after an episode's last step: a click does not step the env (which would refuse), it says what to do."""

from __future__ import annotations

from pathlib import Path

import pygame

from tests.experiments.test_viewer import centre_of, click, key, make_viewer


def test_a_click_after_the_last_saccade_explains_instead_of_stepping(tmp_path: Path) -> None:
    viewer = make_viewer(tmp_path)
    try:
        for _ in range(4):
            key(viewer, pygame.K_SPACE)
        assert viewer.truncated and viewer.info["step"] == 4
        version, path = viewer.version, viewer.base.scanpath.copy()
        click(viewer, centre_of(viewer, (10, 10)))
        assert "episode has ended" in viewer.message
        assert viewer.info["step"] == 4 and viewer.version == version
        assert (viewer.base.scanpath == path).all()
        key(viewer, pygame.K_r)  # r restarts the same image: clicks step again
        click(viewer, centre_of(viewer, (10, 10)))
        assert viewer.info["step"] == 1 and not viewer.truncated
    finally:
        viewer.close()
