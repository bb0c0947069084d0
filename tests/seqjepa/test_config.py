import pytest

from seqjepa import SeqJEPAConfig, available_encoders


def test_defaults_are_the_paper_reference() -> None:
    cfg = SeqJEPAConfig()
    assert (cfg.embed_dim, cfg.action_embed_dim, cfg.agg_dim) == (512, 128, 640)
    assert (cfg.agg_heads, cfg.agg_layers, cfg.agg_ffn, cfg.pred_hidden) == (4, 3, 2560, 1024)
    assert cfg.encoder == "resnet18" and cfg.small_stem


@pytest.mark.parametrize("field, value, words", [
    ("agg_heads", 3, ["agg_heads", "640"]),
    ("encoder", "vit", ["encoder", "resnet18", "convnet"]),
    ("dropout", 1.0, ["dropout", "[0, 1)"]),
    ("embed_dim", 256, ["embed_dim", "512"]),
    ("in_channels", 0, ["in_channels", ">= 1"]),
    ("action_dim", 2.0, ["action_dim"]),
    ("condition_predictor", 1, ["condition_predictor", "True or False"]),
])
def test_bad_field_is_named(field: str, value: object, words: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        SeqJEPAConfig(**{field: value})
    for word in words:
        assert word in str(info.value)


def test_dict_round_trip_and_unknown_keys() -> None:
    cfg = SeqJEPAConfig(in_channels=9, encoder="convnet", embed_dim=32, condition_predictor=False)
    assert SeqJEPAConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown keys.*'lr'"):
        SeqJEPAConfig.from_dict({**cfg.to_dict(), "lr": 1e-3})
    assert "convnet" in available_encoders() and "resnet18" in available_encoders()
