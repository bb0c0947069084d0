import pytest
import torch
from torch import nn

from seqjepa import (
    ConvNetEncoder,
    SeqJEPA,
    SeqJEPAConfig,
    build_encoder,
    register_encoder,
)
from seqjepa.encoder import available_encoders


def test_resnet18_small_stem_nine_channels() -> None:
    enc, dim = build_encoder("resnet18", in_channels=9, small_stem=True)
    assert dim == 512
    assert enc.conv1.in_channels == 9 and enc.conv1.kernel_size == (3, 3) and enc.conv1.stride == (1, 1)
    assert isinstance(enc.maxpool, nn.Identity) and isinstance(enc.fc, nn.Identity)
    # zero-init residual: the last BN of every basic block starts at gamma = 0
    assert all(float(block.bn2.weight.detach().abs().sum()) == 0.0
               for layer in (enc.layer1, enc.layer2, enc.layer3, enc.layer4) for block in layer)
    out = enc(torch.randn(2, 9, 16, 16))
    assert out.shape == (2, 512)


def test_resnet18_imagenet_stem() -> None:
    enc, dim = build_encoder("resnet18", in_channels=3, small_stem=False)
    assert enc.conv1.kernel_size == (7, 7) and enc.conv1.stride == (2, 2)
    assert enc(torch.randn(2, 3, 32, 32)).shape == (2, dim)


@pytest.mark.parametrize("small_stem", [True, False])
def test_convnet_shapes(small_stem: bool) -> None:
    enc, dim = build_encoder("convnet", in_channels=6, small_stem=small_stem, embed_dim=24)
    assert isinstance(enc, ConvNetEncoder) and dim == 24
    assert enc(torch.randn(3, 6, 16, 16)).shape == (3, 24)


def test_build_encoder_errors() -> None:
    with pytest.raises(ValueError, match="encoder name must be one of"):
        build_encoder("vit", 3, True)
    with pytest.raises(ValueError, match="in_channels"):
        build_encoder("convnet", 0, True)
    with pytest.raises(ValueError, match="embed_dim must be 512"):
        build_encoder("resnet18", 3, True, embed_dim=128)


def test_registered_and_direct_custom_encoders(monkeypatch: pytest.MonkeyPatch) -> None:
    import seqjepa.encoder as encoder_module

    monkeypatch.setattr(encoder_module, "_REGISTRY", dict(encoder_module._REGISTRY))  # undo after

    def factory(in_channels: int, small_stem: bool, embed_dim: int | None) -> tuple[nn.Module, int]:
        dim = embed_dim or 8
        return nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(4 * in_channels, dim)), dim

    register_encoder("test_pool", factory)
    assert "test_pool" in available_encoders()
    cfg = SeqJEPAConfig(encoder="test_pool", embed_dim=8, action_embed_dim=8, agg_heads=2,
                        agg_layers=1, agg_ffn=16, pred_hidden=16)
    model = SeqJEPA(cfg)
    assert model.encode(torch.randn(2, 3, 3, 8, 8)).shape == (2, 3, 8)

    direct = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 8))
    model = SeqJEPA(cfg, encoder=direct)
    assert model.encoder is direct and model.target_encoder is not direct
    assert model.encode_target(torch.randn(2, 3, 3, 8, 8)).shape == (2, 3, 8)

    wrong = SeqJEPA(cfg, encoder=nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 5)))
    with pytest.raises(ValueError, match=r"\[N, 8\]"):
        wrong.encode(torch.randn(2, 3, 3, 8, 8))
