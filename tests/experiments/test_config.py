"""Config dataclasses: presets load, YAML round trip, CLI overrides, validation messages."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.pretrain.config import (
    PRESETS_DIR,
    TrainConfig,
    apply_overrides,
    config_from_dict,
    config_to_dict,
    dump_config,
    load_config,
    preset_path,
)

PRESETS = sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def test_required_presets_exist() -> None:
    assert {"scenes_cpu", "stl10_pls_gpu", "scenes_foveated_gpu"} <= set(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_presets_load_validate_and_round_trip(name: str, tmp_path: Path) -> None:
    cfg = load_config(preset_path(name))
    assert cfg.preset == name
    dump_config(cfg, tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == cfg


def test_stl10_preset_has_paper_settings() -> None:
    cfg = load_config(preset_path("stl10_pls_gpu"))
    assert (cfg.data.dataset, cfg.data.split, cfg.data.glimpse_size, cfg.data.scales) == \
        ("stl10", "train+unlabeled", 32, (1,))
    assert (cfg.data.seq_len, cfg.data.batch_size, cfg.epochs) == (5, 512, 1000)
    assert (cfg.model.encoder, cfg.model.small_stem, cfg.model.embed_dim) == ("resnet18", True, 512)
    o = cfg.optim
    assert (o.lr, o.weight_decay, o.warmup_epochs, o.warmup_start_lr, o.final_lr) == (4e-4, 1e-3, 20, 1e-5, 1e-5)
    assert (cfg.precision, cfg.channels_last) == ("bf16", True)
    assert load_config(preset_path("scenes_foveated_gpu")).data.scales == (1, 2, 4)


def test_overrides_are_coerced_to_field_types() -> None:
    cfg = apply_overrides(TrainConfig(), ["optim.lr=1e-3", "data.scales=[1, 2]", "compile=true",
                                          "total_steps=50", "optim.grad_clip=null", "eval.m_val=4",
                                          "optim.betas=[0.9, 0.95]", "run_name=abc"])
    assert cfg.optim.lr == 1e-3 and isinstance(cfg.optim.lr, float)  # YAML reads "1e-3" as a string
    assert cfg.data.scales == (1, 2) and cfg.compile is True and cfg.total_steps == 50
    assert cfg.optim.grad_clip is None and cfg.eval.m_val == (4,) and cfg.optim.betas == (0.9, 0.95)
    assert cfg.run_name == "abc"


@pytest.mark.parametrize("override, match", [
    ("optim.lrr=1", r"unknown field 'lrr'.*allowed"),
    ("nosuch.lr=1", r"'nosuch' is not a config section"),
    ("optim.lr", r"section.field=value"),
    ("precision=fp8", r"precision must be one of \('fp32', 'bf16', 'fp16'\)"),
    ("data.dataset=cifar", r"data.dataset must be one of"),
    ("data.scales=[2, 4]", r"data.scales must be .*starting with 1"),
    ("data.seq_len=1", r"data.seq_len must be >= 2"),
    ("data.batch_size=abc", r"data.batch_size: Value 'abc' .*Integer"),  # OmegaConf's check, one line
    ("data.batch_size=0", r"data.batch_size must be a positive int"),
    ("compile=maybe", r"compile: Value 'maybe' is not a valid bool"),
    ("device=tpu", r"device must be"),
    ("optim.betas=[0.9]", r"optim.betas must be two floats"),
    ("optim.ema_base=1.5", r"optim.ema_base"),
    ("model.encoder=vit", r"encoder must be one of"),
    ("model.agg_heads=7", r"agg_heads must divide"),
    ("eval.m_val=[0]", r"eval.m_val"),
])
def test_bad_values_name_the_field(override: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        apply_overrides(TrainConfig(), [override])


@pytest.mark.parametrize("overrides, match", [
    # evaluation needs labels: only the labeled splits
    (["eval.train_split=unlabeled"], r"eval.train_split must be one of \('train', 'test'\).*'unlabeled'"),
    (["eval.test_split=train+unlabeled"], r"eval.test_split must be one of \('train', 'test'\)"),
    # the embedded scenes have train and test only
    (["data.split=unlabeled"], r"data.split must be one of \('train', 'test'\), got 'unlabeled'"),
    (["data.split=train+unlabeled"], r"data.split must be one of \('train', 'test'\)"),
    (["data.saliency_method=magic"], r"data.saliency_method must be one of"),
    (["data.scales=[1, 1]"], r"data.scales must be .*strictly increasing"),
    (["data.scales=[1, 4, 2]"], r"data.scales must be .*strictly increasing"),
    (["data.ior_radius=0"], r"data.ior_radius must be a finite number in \[0.01, 65536\]"),
    (["data.ior_decay=0"], r"data.ior_decay must be a finite number in \(0, 1\]"),
    (["data.ior_decay=0.5"], r"data.ior_decay < 1 needs ior='gaussian'"),
    # every split the run reads (training, then evaluation) must hold a full batch
    (["data.n_train=16", "data.batch_size=32"], r"data.batch_size=32 exceeds the 16 scenes of the 'train' split"),
    (["data.n_test=8", "data.batch_size=16"], r"exceeds the 8 scenes of the 'test' split \(eval.test_split\).*n_test"),
    (["data.batch_size=6000"], r"data.batch_size=6000 exceeds the 5000 scenes of the 'train' split"),
    (["eval.batch_size=2000"], r"eval.batch_size=2000 exceeds the 1000 scenes of the 'test' split"),
    (["run_name=a/b"], r"run_name must be a plain folder name"),
    (["run_name=.."], r"run_name must be a plain folder name"),
    (["run_name=a\\b"], r"run_name must be a plain folder name"),
    (["run_name=''"], r"run_name must be a plain folder name"),
])
def test_values_that_would_crash_later_are_rejected(overrides: list[str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        apply_overrides(TrainConfig(), overrides)


def test_values_that_only_fail_in_some_setting_are_accepted_there(tmp_path: Path) -> None:
    # an unlabeled split is fine for self-supervised training on STL-10
    assert apply_overrides(TrainConfig(), ["data.dataset=stl10", "data.split=unlabeled"]).data.split == "unlabeled"
    # a small test split is fine when nothing evaluates on it
    assert apply_overrides(TrainConfig(), ["data.n_test=8", "data.batch_size=16", "eval.enabled=false"])
    assert apply_overrides(TrainConfig(), ["data.ior=gaussian", "data.ior_decay=0.5"]).data.ior_decay == 0.5
    assert apply_overrides(TrainConfig(), ["run_name=a..b"]).run_name == "a..b"


@pytest.mark.parametrize("key", ["out_dir", "data.root"])
def test_a_file_where_a_folder_belongs_is_rejected(tmp_path: Path, key: str) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=rf"{key} must be a folder, but .* is a file"):
        apply_overrides(TrainConfig(), [f"{key}={tmp_path / 'file'}"])
    assert apply_overrides(TrainConfig(), [f"{key}={tmp_path / 'new'}"])  # not there yet: made later


def test_unknown_yaml_key_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"optim": {"learning_rate": 1.0}}))
    with pytest.raises(ValueError, match=r"optim.learning_rate"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="mapping"):
        load_config(tmp_path / "list.yaml")
    with pytest.raises(FileNotFoundError, match="config file not found"):
        load_config(tmp_path / "none.yaml")
    with pytest.raises(FileNotFoundError, match="available"):
        preset_path("nope")


def test_seqjepa_config_takes_channels_from_data() -> None:
    cfg = load_config(preset_path("scenes_foveated_gpu"))
    arch = cfg.seqjepa_config(in_channels=9, action_dim=2)
    assert (arch.in_channels, arch.action_dim, arch.encoder) == (9, 2, cfg.model.encoder)


@settings(max_examples=25, deadline=None)
@given(lr=st.floats(1e-6, 1.0), batch=st.integers(1, 1000), seq_len=st.integers(2, 12),
       scales=st.lists(st.integers(2, 8), max_size=3, unique=True).map(sorted),
       clip=st.one_of(st.none(), st.floats(0.01, 10.0)))
def test_dict_round_trip_property(lr: float, batch: int, seq_len: int, scales: list[int],
                                  clip: float | None) -> None:
    base = TrainConfig()
    cfg = dataclasses.replace(
        base, optim=dataclasses.replace(base.optim, lr=lr, grad_clip=clip),
        data=dataclasses.replace(base.data, batch_size=batch, seq_len=seq_len, scales=(1, *scales)))
    cfg.validate()
    plain = config_to_dict(cfg)
    assert config_from_dict(yaml.safe_load(yaml.safe_dump(plain))) == cfg
    over = apply_overrides(TrainConfig(), [f"optim.lr={lr!r}", f"data.batch_size={batch}",
                                           f"data.scales={list((1, *scales))}"])
    assert over.optim.lr == lr and over.data.batch_size == batch and over.data.scales == (1, *scales)


def test_load_config_resolves_presets_by_name_and_reports_broken_yaml(tmp_path, monkeypatch):
    from experiments.pretrain.config import PRESETS_DIR, resolve_config_path

    monkeypatch.chdir(tmp_path)
    assert resolve_config_path("scenes_cpu") == resolve_config_path("scenes_cpu.yaml") == PRESETS_DIR / "scenes_cpu.yaml"
    assert load_config("rotation_cpu").preset == "rotation_cpu"
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 1\noptim: {lr: [\n")
    with pytest.raises(ValueError, match=r"bad.yaml:\d+:\d+: invalid YAML: ") as exc:
        load_config(bad)
    assert "\n" not in str(exc.value)
    with pytest.raises(FileNotFoundError, match="nor a preset name; presets: \\["):
        load_config("sub/scenes_cpu.yaml")


def test_numeric_upper_bounds_match_the_envs():
    for override, match in (("data.glimpse_size=2000", "data.glimpse_size"), ("data.scales=[1, 512]", "data.scales"),
                            ("data.seq_len=20000", "data.seq_len - 1 .*max_saccades.* must be an int in \\[1, 10000\\]"),
                            ("data.batch_size=100000", "data.batch_size / eval.batch_size .*must be an int in \\[1, 65536\\]")):
        with pytest.raises(ValueError, match=match):
            apply_overrides(TrainConfig(), [override])
