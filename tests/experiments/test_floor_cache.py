"""experiments/evaluate/floor_cache: the model-free floors kept with the data, and their background process."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from experiments.evaluate import cache_entry, floor_cache
from experiments.evaluate.features import extract_data, extract_split
from experiments.evaluate.floor_cache import (
    FloorJob,
    FloorJobError,
    FloorPlan,
    compute_floors,
    default_sources,
    floor_file,
    floor_key,
    read_floors,
    start_floor_job,
    write_floors,
)
from experiments.evaluate.metrics import floor_measurements
from experiments.pretrain.config import DataConfig, EvalConfig, TrainConfig
from tests.experiments.test_evaluate import _planted, _prep, _tiny_model
from tests.experiments.test_pretrain import FakeSource, tiny_config


def _source(fingerprint: str = "fp-train", glimpse: int = 8, pixel: int = 0) -> Any:
    """What :func:`floor_key` reads of a sequence source (its first batch: glimpses of value ``pixel``)."""
    world = SimpleNamespace(dataset=SimpleNamespace(fingerprint=fingerprint))
    batch = {"glimpses": torch.full((2, 3, 3, 4, 4), pixel, dtype=torch.uint8), "actions": torch.zeros(2, 3, 2)}
    return SimpleNamespace(env=SimpleNamespace(world=world), env_id="Saccade-Scenes-v0",
                           env_kwargs={"glimpse_size": glimpse, "max_saccades": 2},
                           batches=lambda epoch, start=0: iter([batch]))


def _config(tmp_path: Path, **overrides: Any) -> TrainConfig:
    return tiny_config(tmp_path / "runs", **overrides)


def _scenes_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TrainConfig:
    """A seconds-long scenes evaluation (64 + 32 scenes, 8 px glimpses), caches under ``tmp_path``."""
    monkeypatch.setenv("SACCADE_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("SACCADE_CACHE", raising=False)
    data = DataConfig(dataset="scenes", glimpse_size=8, scales=(1, 3), seq_len=3, batch_size=16, n_train=64,
                      n_test=32, scene_style="shapes", max_objects=3, keep_inside=True, ior_radius=4, prefetch=0)
    return tiny_config(tmp_path / "runs", data=data, eval=EvalConfig(m_val=(1, 2), batch_size=16))


def test_the_key_holds_what_the_floors_depend_on(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    key = floor_key(cfg, _source(), _source("fp-test"))
    assert key is not None and json.loads(json.dumps(key)) == key  # plain JSON
    assert key == floor_key(cfg, _source(), _source("fp-test"))
    # how training reads its data changes nothing
    same = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, prefetch=0, batch_size=3, seq_len=4),
                               total_steps=99, model=dataclasses.replace(cfg.model, embed_dim=8))
    assert floor_key(same, _source(), _source("fp-test")) == key
    others = [
        floor_key(cfg, _source("fp-other"), _source("fp-test")),              # other images
        floor_key(cfg, _source(glimpse=16), _source("fp-test")),              # another env
        floor_key(cfg, _source(), _source("fp-test", pixel=1)),               # other sequences (e.g. a retina edit)
        floor_key(dataclasses.replace(cfg, seed=1), _source(), _source("fp-test")),
        floor_key(dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, m_val=(1, 2, 3))), _source(),
                  _source("fp-test")),
        floor_key(dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, batch_size=16)), _source(),
                  _source("fp-test")),
        floor_key(dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, policy="uniform")), _source(),
                  _source("fp-test")),
    ]
    assert all(k is not None and k != key for k in others)
    assert len({json.dumps(k, sort_keys=True) for k in others}) == len(others)
    assert floor_key(cfg, _source(""), _source("fp-test")) is None  # no fingerprint: nothing cached
    assert floor_key(cfg, FakeSource(), FakeSource()) is None


def _rows() -> list[dict[str, Any]]:
    return [{"metric": "top1_z_agg", "subject": "raw_pixels", "m": 1, "seed": 0, "value": 0.25},
            {"metric": "pathint_r2", "subject": "dead_reckoning", "m": None, "seed": 0, "value": 1.0}]


def test_a_kept_entry_is_read_back_and_another_key_misses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SACCADE_CACHE", str(tmp_path / "cache"))
    cfg = _config(tmp_path)
    key = floor_key(cfg, _source(), _source("fp-test"))
    file = floor_file(cfg, key)
    assert file.parent == tmp_path / "cache" / "floors"
    assert read_floors(file, key) is None  # nothing there: no warning either
    assert write_floors(file, key, _rows()) == _rows()
    assert read_floors(file, key) == _rows()
    other = floor_key(dataclasses.replace(cfg, seed=3), _source(), _source("fp-test"))
    assert floor_file(cfg, other) != file
    with pytest.warns(RuntimeWarning, match="other data or settings"):  # a stale entry under this name
        assert read_floors(file, other) is None


@pytest.mark.parametrize("damage", ["value", "truncated", "not_json_object", "symlink", "not_a_measurement"])
def test_a_corrupt_entry_is_recomputed_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      damage: str) -> None:
    monkeypatch.setenv("SACCADE_CACHE", str(tmp_path / "cache"))
    cfg = _config(tmp_path)
    train, test = _planted(48, 0), _planted(32, 1)
    src = (_source(), _source("fp-test"))
    plan = FloorPlan(cfg, *src)
    assert plan.needs_features and plan.cached is None
    first = plan.rows(train, test, [1, 2], 0)
    assert first == json.loads(json.dumps(floor_measurements(train, test, [1, 2], 0)))
    file = plan.file
    assert FloorPlan(cfg, *src).cached == first  # a hit
    data = json.loads(file.read_text())
    if damage == "value":
        data["measurements"][0]["value"] += 0.5
        file.write_text(json.dumps(data))
    elif damage == "truncated":
        file.write_text(json.dumps(data)[:50])
    elif damage == "not_json_object":
        file.write_text("[1, 2]")
    elif damage == "not_a_measurement":
        data["measurements"][0]["value"] = "0.5"
        data["sha256"] = cache_entry.digest(data["measurements"])  # a consistent digest does not make it valid
        file.write_text(json.dumps(data))
    else:
        (tmp_path / "elsewhere.json").write_text(json.dumps(data))
        file.unlink()
        file.symlink_to(tmp_path / "elsewhere.json")
    with pytest.warns(RuntimeWarning, match="ignoring the floor cache entry"):
        again = FloorPlan(cfg, *src)
    assert again.needs_features
    assert again.rows(train, test, [1, 2], 0) == first  # recomputed and kept again
    assert not file.is_symlink() and FloorPlan(cfg, *src).cached == first


def test_floors_are_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails half-way leaves the previous entry intact and no temporary file; the failure
    is a warning (the floors stay in memory), never an error."""
    import envs.storage.files

    monkeypatch.setenv("SACCADE_CACHE", str(tmp_path / "cache"))
    cfg = _config(tmp_path)
    key = floor_key(cfg, _source(), _source("fp-test"))
    file = floor_file(cfg, key)
    write_floors(file, key, _rows())
    before = file.read_bytes()

    def failing_replace(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(envs.storage.files.os, "replace", failing_replace)
    changed = [dict(r, value=0.5) for r in _rows()]
    with pytest.warns(RuntimeWarning, match="cannot write caches"):
        assert write_floors(file, key, changed) == changed
    assert file.read_bytes() == before and read_floors(file, key) == _rows()
    assert sorted(p.name for p in file.parent.iterdir()) == [file.name]


def test_data_only_features_match_the_model_pass() -> None:
    """The floors' own data pass reads exactly what the model's feature pass gives them."""
    src = FakeSource(n_items=32, batch_size=8, seq_len=4)
    full = extract_split(_tiny_model(), src.batches(0), 3, 2, _prep, torch.device("cpu"), max_batches=3)
    data = extract_data(src.batches(0), 3, max_batches=3)
    for name in ("actions", "labels", "pixels", "colour"):
        assert torch.equal(getattr(full, name), getattr(data, name)), name
    lean = extract_split(_tiny_model(), src.batches(0), 3, 2, _prep, torch.device("cpu"), max_batches=3,
                         data_floors=False)
    assert lean.pixels.shape == lean.colour.shape == (24, 4, 0) and torch.equal(lean.z_views, full.z_views)
    assert floor_measurements(full, full, [1, 2], 0) == floor_measurements(data, data, [1, 2], 0)


def test_background_floors_equal_the_serial_ones_and_are_kept(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _scenes_config(tmp_path, monkeypatch)
    train_src, test_src = default_sources(cfg)
    serial = floor_measurements(extract_data(train_src.batches(0), 2), extract_data(test_src.batches(0), 2),
                                [1, 2], cfg.seed)
    job = FloorJob(cfg)
    key, rows = job.result()
    assert job.done() and job._proc.returncode == 0 and job not in floor_cache.pending_jobs()
    assert key == floor_key(cfg, train_src, test_src)
    assert rows == json.loads(json.dumps(serial))
    assert read_floors(floor_file(cfg, key), key) == rows  # the process kept them
    assert compute_floors(cfg) == (key, rows)  # a hit: no data pass
    plan = FloorPlan(cfg, train_src, test_src)
    assert plan.cached == rows and not plan.needs_features


def test_a_failure_in_the_background_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child's exception comes back named, with its traceback; the evaluation warns and computes
    the floors itself."""
    cfg = _scenes_config(tmp_path, monkeypatch)
    train_src, test_src = default_sources(cfg)
    bad = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, dataset="stl10"))  # not downloaded
    job = FloorJob(bad)
    with pytest.raises(FloorJobError, match=r"background floor computation failed: \w+Error") as exc:
        job.result()
    assert "Traceback" in str(exc.value) and job._proc.returncode == 0
    with pytest.raises(FloorJobError):  # asked again: the same answer
        job.result()
    # in the evaluation: a failed job of these settings is reported and the floors computed here
    job = FloorJob(bad)
    monkeypatch.setattr(floor_cache, "_settings", lambda config: job.settings)
    plan = FloorPlan(cfg, train_src, test_src)
    assert plan.job is job and not plan.needs_features
    with pytest.warns(RuntimeWarning, match="background floor computation failed"):
        rows = plan.rows(extract_data(train_src.batches(0), 2), extract_data(test_src.batches(0), 2), [1, 2], 0)
    assert rows == compute_floors(cfg)[1]


def test_a_closed_job_leaves_no_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _scenes_config(tmp_path, monkeypatch)
    job = FloorJob(cfg)
    job.close()
    assert job._proc.returncode is not None and job not in floor_cache.pending_jobs()
    with pytest.raises(ProcessLookupError):
        os.kill(job.pid, 0)  # waited for: not even a zombie


def test_when_the_floors_go_to_the_background(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []
    monkeypatch.setattr(floor_cache, "FloorJob", lambda config, threads=1: started.append(threads) or "job")
    monkeypatch.setattr(floor_cache, "spare_cores", lambda threads: max(0, 2 - threads))
    monkeypatch.delenv(floor_cache.BACKGROUND_ENV, raising=False)
    cfg = _config(tmp_path, threads=1)
    assert start_floor_job(cfg) == "job" and started == [1]
    assert start_floor_job(cfg, world_size=2) is None                 # DDP
    assert start_floor_job(cfg, custom_sources=True) is None          # the process could not rebuild them
    assert start_floor_job(dataclasses.replace(cfg, threads=None)) is None  # torch's default: every core
    assert start_floor_job(dataclasses.replace(cfg, threads=2)) is None     # no spare core
    assert start_floor_job(dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, floors=False))) is None
    assert start_floor_job(dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, enabled=False))) is None
    monkeypatch.setenv(floor_cache.BACKGROUND_ENV, "0")
    assert start_floor_job(cfg) is None
    monkeypatch.setenv(floor_cache.BACKGROUND_ENV, "1")
    assert start_floor_job(dataclasses.replace(cfg, threads=2)) == "job"
    monkeypatch.setenv(floor_cache.BACKGROUND_ENV, "yes")
    with pytest.raises(ValueError, match="SACCADE_BACKGROUND_FLOORS"):
        start_floor_job(cfg)


def test_the_key_follows_the_code_that_computes_the_floors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _config(tmp_path)
    key = floor_key(cfg, _source(), _source("fp-test"))
    monkeypatch.setattr(floor_cache, "_code_digest", lambda: "edited")
    assert floor_key(cfg, _source(), _source("fp-test")) != key


def test_a_resumed_run_gets_its_floors_from_the_background(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A session that stops before the end starts no job; the resumed one does, and its evaluation
    takes the floors from it (the same as computed in the evaluation); no process is left."""
    from experiments.pretrain.cli import pretrain as main  # training with the project's evaluation

    cfg = dataclasses.replace(_scenes_config(tmp_path, monkeypatch), threads=1, total_steps=4, stop_after=2)
    monkeypatch.setenv(floor_cache.BACKGROUND_ENV, "1")  # also on a one-core machine
    jobs: list[FloorJob] = []
    real = floor_cache.FloorJob
    monkeypatch.setattr(floor_cache, "FloorJob", lambda *a, **k: jobs.append(real(*a, **k)) or jobs[-1])
    main(cfg)
    assert jobs == []
    summary = main(dataclasses.replace(cfg, stop_after=None), run_dir=tmp_path / "runs" / "tiny", resume=True)
    assert len(jobs) == 1 and jobs[0]._proc.returncode == 0 and not floor_cache.pending_jobs()
    assert "floors computed in a background process" in capsys.readouterr().out
    train_src, test_src = default_sources(cfg)
    serial = floor_measurements(extract_data(train_src.batches(0), 2), extract_data(test_src.batches(0), 2),
                                [1, 2], cfg.seed)
    got = {(r["metric"], r["subject"], r["m"]): r["mean"] for r in summary["eval"]["summary"]}
    assert all(got[(r["metric"], r["subject"], r["m"])] == pytest.approx(r["value"], abs=1e-12) for r in serial)
