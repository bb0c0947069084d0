"""The retina: the NumPy/Numba path against an independent np.pad + block_reduce
reference, known border values and contracts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skimage.measure import block_reduce

from envs.engine.retina import Retina, mosaic, to_channels_first

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference_glimpse(image: np.ndarray, fixation, g: int, scales, padding: str) -> np.ndarray:
    """Independent reference: pad generously with np.pad, slice, block-sum, round half up."""
    img = image if image.ndim == 3 else image[:, :, None]
    outs = []
    for s in scales:
        n = g * s
        top, left = int(fixation[0]) - n // 2, int(fixation[1]) - n // 2
        p = n + abs(top) + abs(left)
        mode = "constant" if padding == "zero" else "reflect"
        padded = np.pad(img, ((p, p), (p, p), (0, 0)), mode=mode)
        crop = padded[top + p : top + p + n, left + p : left + p + n].astype(np.int64)
        sums = block_reduce(crop, (s, s, 1), np.sum)
        outs.append(((sums + (s * s) // 2) // (s * s)).astype(np.uint8))
    return np.stack(outs)


@st.composite
def retina_cases(draw, max_side: int = 20, max_b: int = 1, max_t: int = 3):
    h = draw(st.integers(1, max_side))
    w = draw(st.integers(1, max_side))
    c = draw(st.sampled_from([1, 3]))
    g = draw(st.integers(1, 7))
    extra = draw(st.lists(st.integers(2, 5), max_size=2, unique=True))
    scales = (1, *sorted(extra))
    padding = draw(st.sampled_from(["zero", "reflect"]))
    b = draw(st.integers(1, max_b))
    t = draw(st.integers(1, max_t))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (b, h, w, c), dtype=np.uint8)
    reach = g * scales[-1]  # fixations near, on and well outside the borders
    rows = rng.integers(-reach, h + reach, (b, t))
    cols = rng.integers(-reach, w + reach, (b, t))
    return images, np.stack([rows, cols], axis=-1), g, scales, padding


@SETTINGS
@given(retina_cases())
def test_glimpses_match_independent_reference(case):
    images, fixations, g, scales, padding = case
    out = Retina(g, scales, padding).glimpses(images[0], fixations[0])
    assert out.dtype == np.uint8 and out.shape == (fixations.shape[1], len(scales), g, g, images.shape[-1])
    for t in range(fixations.shape[1]):
        np.testing.assert_array_equal(out[t], reference_glimpse(images[0], fixations[0, t], g, scales, padding))


def test_scale_one_is_the_plain_slice_for_interior_fixations():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    for g in (1, 4, 7, 8):
        retina = Retina(g, (1,), "zero")
        for r, c in [(g, g), (20, 25), (39 - g // 2, 49 - g // 2)]:
            top, left = r - g // 2, c - g // 2
            np.testing.assert_array_equal(retina.glimpse(image, (r, c))[0], image[top : top + g, left : left + g])


def test_zero_padding_corners_and_far_outside():
    image = np.full((10, 12, 3), 200, np.uint8)
    retina = Retina(8, (1, 2), "zero")
    out = retina.glimpse(image, (0, 0))
    # fovea: rows/cols -4..3 -> the top-left 4x4 quadrant lies outside
    assert (out[0, :4, :] == 0).all() and (out[0, :, :4] == 0).all()
    assert (out[0, 4:, 4:] == 200).all()
    # scale 2: rows/cols -8..7, blocks of 2 -> the first 4 block rows/cols are outside
    assert (out[1, :4, :] == 0).all() and (out[1, :, :4] == 0).all()
    assert (out[1, 4:, 4:] == 200).all()
    out = retina.glimpse(image, (9, 11))  # bottom-right: rows 5..12, cols 7..14
    assert (out[0, :5, :5] == 200).all() and (out[0, 5:, :] == 0).all() and (out[0, :, 5:] == 0).all()
    assert not Retina(4, (1, 3), "zero").glimpse(image, (-100, 500)).any()


def test_reflect_padding_known_values():
    # one row, columns [10, 20, 30]: reflect-101 extends ... 20 30 20 | 10 20 30 | 20 10 20 ...
    image = np.array([[10, 20, 30]], np.uint8)
    out = Retina(8, (1,), "reflect").glimpse(image, (0, 1))  # cols -3..4, rows -4..3 (all row 0)
    np.testing.assert_array_equal(out[0, :, :, 0], np.tile([20, 30, 20, 10, 20, 30, 20, 10], (8, 1)))
    # two rows: rows -2..1 -> 0 1 0 1 (period 2)
    image2 = np.array([[1, 2], [3, 4]], np.uint8)
    out2 = Retina(4, (1,), "reflect").glimpse(image2, (0, 0))[0, :, :, 0]
    np.testing.assert_array_equal(out2, [[1, 2, 1, 2], [3, 4, 3, 4], [1, 2, 1, 2], [3, 4, 3, 4]])
    # a single pixel reflects to itself everywhere, at any scale
    single = np.array([[[7, 8, 9]]], np.uint8)
    out3 = Retina(3, (1, 2, 5), "reflect").glimpse(single, (40, -40))
    assert (out3 == np.array([7, 8, 9], np.uint8)).all()


def test_periphery_is_the_rounded_block_mean_by_explicit_loops():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (30, 30), dtype=np.uint8)
    g, s, (r, c) = 5, 3, (15, 14)
    out = Retina(g, (1, s), "zero").glimpse(image, (r, c))
    assert out.shape == (2, g, g, 1)
    top, left = r - (g * s) // 2, c - (g * s) // 2
    for i in range(g):
        for j in range(g):
            block = [int(image[top + i * s + a, left + j * s + b]) for a in range(s) for b in range(s)]
            mean = sum(block) / (s * s)
            assert out[1, i, j, 0] == int(np.floor(mean + 0.5)), (i, j)


def test_rounding_is_half_up():
    # G=1, s=2 at fixation (1, 1) is exactly the 2x2 block image[0:2, 0:2]
    retina = Retina(1, (1, 2), "zero")
    for block, expected in [
        ([[1, 0], [0, 0]], 0),  # mean 0.25
        ([[1, 1], [0, 0]], 1),  # mean 0.5 rounds up
        ([[3, 3], [0, 0]], 2),  # mean 1.5 rounds up
        ([[3, 2], [0, 0]], 1),  # mean 1.25
        ([[255, 255], [255, 253]], 255),  # mean 254.5 rounds up
        ([[255, 255], [255, 252]], 254),  # mean 254.25
    ]:
        assert retina.glimpse(np.array(block, np.uint8), (1, 1))[1, 0, 0, 0] == expected, block


def test_batch_and_glimpses_agree_with_single_glimpse():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (3, 17, 13, 3), dtype=np.uint8)
    fixations = rng.integers(-10, 25, (3, 4, 2))
    retina = Retina(6, (1, 2, 3), "reflect")
    batch = retina.batch(images, fixations)
    assert batch.shape == (3, 4, 3, 6, 6, 3) and batch.dtype == np.uint8
    for b in range(3):
        np.testing.assert_array_equal(batch[b], retina.glimpses(images[b], fixations[b]))
        for t in range(4):
            np.testing.assert_array_equal(batch[b, t], retina.glimpse(images[b], fixations[b, t]))


def test_input_layouts_and_dtypes():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (20, 22, 3), dtype=np.uint8)
    retina = Retina(5, (1, 2), "zero")
    flipped = image[:, ::-1]  # non-contiguous view
    np.testing.assert_array_equal(retina.glimpse(flipped, (9, 9)), retina.glimpse(flipped.copy(), (9, 9)))
    gray = image[:, :, 0]
    np.testing.assert_array_equal(retina.glimpse(gray, (3, 4)), retina.glimpse(gray[:, :, None], (3, 4)))
    for fix in [(3, 4), np.array([3, 4], np.int32), np.array([3, 4], np.uint16)]:
        np.testing.assert_array_equal(retina.glimpse(image, fix), retina.glimpse(image, (3, 4)))
    assert retina.glimpses(image, np.zeros((0, 2), np.int64)).shape == (0, 2, 5, 5, 3)
    assert retina.batch(image[None], np.zeros((1, 0, 2), np.int64)).shape == (1, 0, 2, 5, 5, 3)
    # huge fixation values stay well defined: reflection is periodic (2 * (side - 1)) along each axis
    far = np.array([[[10**12, -(10**12)]]])
    near = far % np.array([2 * (20 - 1), 2 * (22 - 1)])
    reflect = Retina(4, (1, 3), "reflect")
    np.testing.assert_array_equal(reflect.batch(image[None], far), reflect.batch(image[None], near))


def test_properties_and_channel_first_order():
    retina = Retina(4, (1, 2, 4), "zero")
    assert retina.n_scales == 3 and retina.channels_out(3) == 9 and retina.output_shape(1) == (3, 4, 4, 1)
    x = np.random.default_rng(4).integers(0, 256, (2, 5, 3, 4, 4, 3), dtype=np.uint8)
    y = to_channels_first(x)
    assert y.shape == (2, 5, 9, 4, 4)
    for s in range(3):
        for c in range(3):
            np.testing.assert_array_equal(y[:, :, s * 3 + c], x[:, :, s, :, :, c])
    np.testing.assert_array_equal(Retina.to_channels_first(x), y)


def test_mosaic_layout():
    x = np.random.default_rng(5).integers(0, 256, (3, 4, 4, 3), dtype=np.uint8)
    m = mosaic(x, zoom=2, gap=1, gap_value=7)
    assert m.shape == (8, 3 * 8 + 2, 3) and m.dtype == np.uint8
    for s in range(3):
        tile = m[:, s * 9 : s * 9 + 8]
        np.testing.assert_array_equal(tile[::2, ::2], x[s])
        np.testing.assert_array_equal(tile[1::2, 1::2], x[s])
    assert (m[:, 8] == 7).all() and (m[:, 17] == 7).all()
    assert mosaic(x[:1], gap=3).shape == (4, 4, 3)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"glimpse_size": 0}, "glimpse_size"),
        ({"glimpse_size": 3.0}, "glimpse_size"),
        ({"scales": (2, 4)}, "scales"),
        ({"scales": (1, 4, 2)}, "scales"),
        ({"scales": (1, 1)}, "scales"),
        ({"scales": ()}, "scales"),
        ({"scales": (1, 2.0)}, "scales"),
        ({"scales": 3}, "scales"),
        ({"padding": "edge"}, "padding"),
    ],
)
def test_constructor_errors_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Retina(**kwargs)


def test_call_errors_name_the_parameter():
    retina = Retina(4, (1, 2))
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(TypeError, match="image"):
        retina.glimpse(image.astype(np.float32), (1, 1))
    with pytest.raises(ValueError, match="image"):
        retina.glimpse(np.zeros((2, 8, 8, 3), np.uint8), (1, 1))
    with pytest.raises(ValueError, match="image"):
        retina.glimpse(np.zeros((0, 8, 3), np.uint8), (1, 1))
    with pytest.raises(ValueError, match="fixation"):
        retina.glimpse(image, (1, 2, 3))
    with pytest.raises(TypeError, match="fixation"):
        retina.glimpse(image, (1.5, 2.0))
    with pytest.raises(ValueError, match="fixations"):
        retina.glimpses(image, np.zeros((3, 3), np.int64))
    with pytest.raises(TypeError, match="images"):
        retina.batch(image[None].astype(np.int16), np.zeros((1, 1, 2), np.int64))
    with pytest.raises(ValueError, match="fixations"):
        retina.batch(image[None], np.zeros((2, 1, 2), np.int64))
    with pytest.raises(ValueError, match="glimpse"):
        mosaic(np.zeros((2, 4, 5, 3), np.uint8))
    with pytest.raises(ValueError, match="glimpses"):
        to_channels_first(np.zeros((4, 4, 3), np.uint8))


def test_a_retina_is_a_frozen_hashable_spec():
    import pickle

    retina = Retina(16, (1, 2))
    assert retina == Retina(16, (1, 2)) and retina != Retina(16, (1, 3)) and len({retina, Retina(16, (1, 2))}) == 1
    assert retina.spec == (16, (1, 2), "zero") and pickle.loads(pickle.dumps(retina)) == retina
    with pytest.raises(AttributeError, match="frozen"):
        retina.scales = (1, 4)
