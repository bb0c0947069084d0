import pytest
import torch

from seqjepa import normalize_glimpses


def test_scale_major_channel_tiling() -> None:
    x = torch.full((2, 3, 6, 4, 4), 255, dtype=torch.uint8)  # [B, T, S*C, G, G], S = 2, C = 3
    out = normalize_glimpses(x, mean=(0.0, 0.5, 1.0), std=(1.0, 0.5, 0.25))
    assert out.dtype == torch.float32 and out.shape == x.shape
    expected = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    torch.testing.assert_close(out[0, 0, :, 0, 0], expected)
    # float input in [0, 1] is treated like uint8 / 255
    torch.testing.assert_close(normalize_glimpses(x.float() / 255, (0.0, 0.5, 1.0), (1.0, 0.5, 0.25)), out)


def test_errors() -> None:
    x = torch.zeros(1, 1, 4, 4, 4, dtype=torch.uint8)
    with pytest.raises(ValueError, match="multiple of len\\(mean\\)=3"):
        normalize_glimpses(x)
    with pytest.raises(ValueError, match="std must be > 0"):
        normalize_glimpses(x, mean=(0.0, 0.0), std=(1.0, 0.0))
    with pytest.raises(ValueError, match="same length"):
        normalize_glimpses(x, mean=(0.0, 0.0), std=(1.0,))
