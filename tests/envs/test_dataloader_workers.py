"""``SequenceSource`` under ``torch.utils.data.DataLoader`` workers: every batch exactly once, and a
clear error (not a killed worker) when a worker is forked after Numba's OpenMP threads started."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
import torch

from envs.sequences import SequenceSource

WORLD = dict(n_worlds=3, world_size=64, glimpse_size=16)


def _source() -> SequenceSource:
    return SequenceSource("PathIntegration-Scenes-v0", WORLD, seq_len=3, batch_size=2, epoch_size=10, seed=3)


def _key(batch: dict[str, torch.Tensor]) -> tuple:
    return (tuple(batch["indices"].tolist()), batch["glimpses"].sum().item(), batch["positions"].sum().item())


def test_workers_share_the_epoch_without_duplicates(monkeypatch):
    import envs.sequences

    monkeypatch.setattr(envs.sequences, "_check_fork_safe", lambda: None)  # this process is no forked worker
    source = _source()
    single = [_key(b) for b in source]
    shares = []
    for worker in range(3):
        monkeypatch.setattr(torch.utils.data, "get_worker_info", lambda w=worker: SimpleNamespace(id=w, num_workers=3))
        shares.append([_key(b) for b in source])
    assert [len(s) for s in shares] == [2, 2, 1]
    assert [b for k in range(2) for s in shares for b in s[k:k + 1]] == single  # round robin = single order


def test_spawned_dataloader_yields_each_batch_exactly_once():
    source = _source()
    single = [_key(b) for b in source]
    assert len(single) == len(set(single)) == 5
    loader = torch.utils.data.DataLoader(source, batch_size=None, num_workers=2, multiprocessing_context="spawn")
    loaded = [_key(b) for b in loader]
    assert len(loaded) == len(single) and set(loaded) == set(single)


def test_fork_after_openmp_raises_a_clear_error():
    code = textwrap.dedent("""
        import numba, torch
        from numba import njit, prange
        from envs.sequences import SequenceSource

        @njit(parallel=True)
        def touch(n):
            s = 0
            for i in prange(n):
                s += i
            return s

        src = SequenceSource("PathIntegration-Scenes-v0", dict(n_worlds=3, world_size=64, glimpse_size=16),
                             seq_len=3, batch_size=2, epoch_size=6)
        touch(1000)
        if numba.threading_layer() != "omp":
            print("SKIP", numba.threading_layer())
            raise SystemExit(0)
        loader = torch.utils.data.DataLoader(src, batch_size=None, num_workers=2, multiprocessing_context="fork")
        try:
            list(loader)
        except RuntimeError as exc:
            print("RAISED", str(exc).splitlines()[-1][:400])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    if out.stdout.startswith("SKIP"):
        pytest.skip(f"Numba threading layer is not GNU OpenMP here ({out.stdout.strip()})")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "RAISED" in out.stdout and "multiprocessing_context='spawn'" in out.stdout, out.stdout + out.stderr[-2000:]
