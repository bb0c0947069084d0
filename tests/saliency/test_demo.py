"""The saliency demo writes a sensible PNG."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("skimage")

from experiments.saliency_demo import main  # noqa: E402


def test_demo_writes_png(tmp_path):
    out = main(tmp_path / "sub" / "demo.png", method="spectral_residual", n_fixations=3, seed=1, photo="coffee")
    assert out == tmp_path / "sub" / "demo.png"
    import matplotlib.image as mpimg

    img = mpimg.imread(out)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 3 * img.shape[0] // 2
    assert np.ptp(img[..., :3]) > 0.5  # not a blank canvas


def test_demo_rejects_unknown_photo(tmp_path):
    with pytest.raises(ValueError, match=r"photo must be one of \('astronaut', 'chelsea', 'coffee'\)"):
        main(tmp_path / "x.png", photo="lena")
