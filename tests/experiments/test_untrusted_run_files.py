"""Files of a run folder are read by names the project did not write: a FIFO or folder by a
checkpoint's or summary's name is never opened."""

from __future__ import annotations

import os
from pathlib import Path


def test_a_fifo_in_a_run_folder_is_never_opened(tmp_path: Path) -> None:
    from experiments.pretrain.checkpoint import latest_checkpoint
    from experiments.pretrain.runfolder import read_summary

    os.mkfifo(tmp_path / "ckpt_step00000009.pt")
    os.mkfifo(tmp_path / "summary.json")
    (tmp_path / "ckpt_step00000004.pt").write_bytes(b"x")
    (tmp_path / "ckpt_step00000005.pt.bak").write_bytes(b"x")
    assert latest_checkpoint(tmp_path) == tmp_path / "ckpt_step00000004.pt"
    assert read_summary(tmp_path) is None
