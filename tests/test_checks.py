"""The ground-floor scalar checks (``checks``): exactly the values in range pass, as plain Python
types; everything else raises one line naming the parameter and the allowed range or values."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from checks import CheckTypeError, check_bool, check_choice, check_int, check_real, check_seed

names = st.from_regex(r"[a-z][a-z_.]{0,20}", fullmatch=True)
maybe_int = st.none() | st.integers(-10**6, 10**6)
# Values of the wrong kind for a number: bools, strings, containers, arrays, None.
not_numbers = st.sampled_from([True, False, np.bool_(True), "3", b"3", None, [1], (2,), {"a": 1},
                               np.arange(3), np.zeros((40, 40)), object()])


def raised(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Exception | None:
    """The ValueError/TypeError ``fn`` raises, else None."""
    try:
        fn(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        return exc
    return None


def assert_one_line_naming(exc: Exception | None, name: str) -> None:
    assert isinstance(exc, ValueError), exc  # every refusal is a ValueError (wrong types too)
    text = str(exc)
    assert "\n" not in text and text.startswith(f"{name} must be ") and len(text) < len(name) + 250


@given(names, st.integers(-10**20, 10**20), maybe_int, maybe_int, st.booleans())
def test_check_int_accepts_exactly_the_ints_in_range(name, value, lo, hi, as_numpy) -> None:
    if as_numpy:
        value = np.int64(max(-2**63, min(2**63 - 1, value)))
    inside = (lo is None or value >= lo) and (hi is None or value <= hi)
    exc = raised(check_int, name, value, lo, hi)
    if inside:
        assert exc is None and check_int(name, value, lo, hi) == value
        assert type(check_int(name, value, lo, hi)) is int
    else:
        assert_one_line_naming(exc, name)
        assert not isinstance(exc, TypeError)  # the right type, out of range
        if lo is not None:
            assert str(lo) in str(exc)
        if hi is not None:
            assert str(hi) in str(exc)


@given(names, not_numbers | st.floats(allow_nan=True) | st.sampled_from([3.0, np.float64(0.0), np.float32(2.0)]))
def test_check_int_refuses_bools_floats_and_non_numbers(name, value) -> None:
    exc = raised(check_int, name, value, None, None)
    assert_one_line_naming(exc, name)
    assert isinstance(exc, TypeError) and isinstance(exc, CheckTypeError)


bounds = st.none() | st.floats(-1e6, 1e6)


@given(names, st.floats(allow_nan=True, allow_infinity=True) | st.integers(-10**6, 10**6), bounds, bounds,
       st.booleans(), st.booleans())
def test_check_real_accepts_exactly_the_finite_reals_in_range(name, value, lo, hi, lo_open, hi_open) -> None:
    v = float(value)
    inside = math.isfinite(v) and (lo is None or (v > lo if lo_open else v >= lo)) \
        and (hi is None or (v < hi if hi_open else v <= hi))
    exc = raised(check_real, name, value, lo, hi, lo_open, hi_open)
    if inside:
        assert exc is None
        out = check_real(name, value, lo, hi, lo_open, hi_open)
        assert type(out) is float and out == v
    else:
        assert_one_line_naming(exc, name)
        assert not isinstance(exc, TypeError)
        if lo is not None and hi is not None:  # the interval is written with its open and closed ends
            assert ("(" if lo_open else "[") in str(exc) and (")" if hi_open else "]") in str(exc)


@given(names, st.floats(-1e3, 1e3), st.sampled_from([np.float32, np.float64, np.int32, np.int64]))
def test_check_real_accepts_numpy_scalars(name, value, dtype) -> None:
    scalar = dtype(value)
    assert check_real(name, scalar, -1e4, 1e4) == float(scalar)


@given(names, not_numbers)
def test_check_real_refuses_bools_and_non_numbers(name, value) -> None:
    exc = raised(check_real, name, value)
    assert_one_line_naming(exc, name)
    assert isinstance(exc, TypeError)


@pytest.mark.parametrize("value", [10**400, -10**400, float("nan"), float("inf"), -float("inf"), np.float64("nan")])
def test_check_real_refuses_non_finite_and_ints_beyond_float64(value) -> None:
    exc = raised(check_real, "x", value)
    assert_one_line_naming(exc, "x")
    assert not isinstance(exc, TypeError) and len(str(exc)) < 150  # a huge int is shown cut short


@given(names, st.lists(st.text("abc_", max_size=5) | st.integers(-5, 5), min_size=1, max_size=6, unique=True),
       st.text("abc_", max_size=5) | st.integers(-5, 5))
def test_check_choice_accepts_exactly_the_allowed_values(name, allowed, value) -> None:
    exc = raised(check_choice, name, value, allowed)
    if value in allowed:
        assert exc is None and check_choice(name, value, allowed) == value
    else:
        assert_one_line_naming(exc, name)
        assert repr(allowed[0])[:10] in str(exc)


@pytest.mark.parametrize("value, allowed", [(True, (1, 2)), (1, (True, False)), (np.array([1, 2]), (1, 2)),
                                            (None, ("a",)), (["a"], ("a",))])
def test_check_choice_never_mixes_bools_numbers_or_arrays(value, allowed) -> None:
    assert_one_line_naming(raised(check_choice, "mode", value, allowed), "mode")


@given(names, st.sampled_from([True, False, np.bool_(True), np.bool_(False)]))
def test_check_bool_accepts_bools_as_python_bools(name, value) -> None:
    out = check_bool(name, value)
    assert type(out) is bool and out == bool(value)


@given(names, st.integers() | st.floats() | not_numbers.filter(lambda v: not isinstance(v, (bool, np.bool_))))
def test_check_bool_refuses_everything_else(name, value) -> None:
    exc = raised(check_bool, name, value)
    assert_one_line_naming(exc, name)
    assert isinstance(exc, TypeError) and "True or False" in str(exc)


@given(st.none() | st.integers(-10**20, 10**20) | st.floats() | not_numbers, names)
def test_check_seed_accepts_none_or_ints_from_zero(seed, name) -> None:
    ok = seed is None or (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0)
    exc = raised(check_seed, seed, name)
    if ok:
        assert exc is None and check_seed(seed, name) == seed
    else:
        assert_one_line_naming(exc, name)
        assert "None or an int >= 0" in str(exc)


def test_check_seed_names_seed_by_default_and_takes_numpy_ints() -> None:
    assert check_seed(np.uint32(7)) == 7 and type(check_seed(np.uint32(7))) is int
    assert_one_line_naming(raised(check_seed, -1), "seed")


def test_the_checks_module_imports_nothing_of_the_project() -> None:
    import ast
    from pathlib import Path

    import checks

    tree = ast.parse(Path(checks.__file__).read_text())
    roots = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    roots |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert roots <= {"__future__", "math", "numbers", "collections", "typing", "numpy"}
