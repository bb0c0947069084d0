import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqjepa import set_lr, warmup_cosine_lr


def test_reference_shape() -> None:
    kw = dict(total_steps=100, warmup_steps=20, base_lr=4e-4, start_lr=1e-5, final_lr=1e-5)
    assert warmup_cosine_lr(0, **kw) == pytest.approx(1e-5)
    assert warmup_cosine_lr(10, **kw) == pytest.approx((1e-5 + 4e-4) / 2)
    assert warmup_cosine_lr(20, **kw) == pytest.approx(4e-4)
    assert warmup_cosine_lr(60, **kw) == pytest.approx((4e-4 + 1e-5) / 2)
    assert warmup_cosine_lr(100, **kw) == pytest.approx(1e-5)
    assert warmup_cosine_lr(1000, **kw) == pytest.approx(1e-5)
    # the schedule really decays after the warm-up (the public code's bug kept it constant)
    assert warmup_cosine_lr(21, **kw) > warmup_cosine_lr(50, **kw) > warmup_cosine_lr(99, **kw)


def test_no_warmup() -> None:
    assert warmup_cosine_lr(0, 10, 0, 1.0, 0.0, 0.0) == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(total=st.integers(1, 5000), frac=st.floats(0.0, 1.0), base=st.floats(1e-6, 1.0),
       start=st.floats(0.0, 1e-3), final=st.floats(0.0, 1e-3), s1=st.integers(0, 6000),
       s2=st.integers(0, 6000))
def test_monotone_pieces(total: int, frac: float, base: float, start: float, final: float,
                         s1: int, s2: int) -> None:
    warmup = int(frac * total)
    lr = lambda s: warmup_cosine_lr(s, total, warmup, base, start, final)  # noqa: E731
    a, b = sorted((s1, s2))
    assert lr(0) == pytest.approx(start if warmup > 0 else base)
    if warmup < total:
        assert lr(warmup) == pytest.approx(base)
    assert lr(total) == pytest.approx(final)
    sign_warm = 1.0 if base >= start else -1.0  # warm-up rises towards base_lr
    sign_cos = 1.0 if base >= final else -1.0   # cosine falls towards final_lr
    if b < warmup:
        assert sign_warm * (lr(b) - lr(a)) >= -1e-12
    if a >= warmup:
        assert sign_cos * (lr(a) - lr(b)) >= -1e-12
    assert min(start, final, base) - 1e-12 <= lr(a) <= max(start, final, base) + 1e-12


@pytest.mark.parametrize("kwargs, name", [
    (dict(step=-1, total_steps=10, warmup_steps=2, base_lr=1.0), "step"),
    (dict(step=0, total_steps=0, warmup_steps=0, base_lr=1.0), "total_steps"),
    (dict(step=0, total_steps=10, warmup_steps=11, base_lr=1.0), "warmup_steps"),
    (dict(step=0, total_steps=10, warmup_steps=2, base_lr=-1.0), "base_lr"),
    (dict(step=0, total_steps=10, warmup_steps=2, base_lr=1.0, final_lr=float("nan")), "final_lr"),
])
def test_errors_name_the_argument(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        warmup_cosine_lr(**kwargs)


def test_set_lr() -> None:
    import torch

    opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]},
                           {"params": [torch.zeros(1, requires_grad=True)], "lr": 5.0}], lr=1.0)
    set_lr(opt, 0.25)
    assert [g["lr"] for g in opt.param_groups] == [0.25, 0.25]
    with pytest.raises(ValueError, match="lr"):
        set_lr(opt, -1.0)
