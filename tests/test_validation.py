"""vae_course.validation: the argument checks every boundary function uses."""
import math

import numpy as np
import pytest
import torch

from vae_course.validation import ArgumentTypeError, check_finite, check_same_device, integer, number


def test_argument_type_error_is_both_a_type_error_and_a_value_error():
    assert issubclass(ArgumentTypeError, TypeError) and issubclass(ArgumentTypeError, ValueError)


def test_number_accepts_python_numpy_and_0d_tensors():
    for v in (0.5, np.float32(0.5), np.float64(0.5), torch.tensor(0.5)):
        assert number(v, "lr") == 0.5 and isinstance(number(v, "lr"), float)
    assert number(3, "n") == 3.0 and number(np.int64(3), "n") == 3.0


@pytest.mark.parametrize("value, kw, error, message", [
    (True, {}, TypeError, "lr must be a number, got the bool True"),
    (np.bool_(False), {}, TypeError, "lr must be a number"),
    ("0.1", {}, TypeError, "lr must be a number, got str"),
    (None, {}, TypeError, "lr must be a number"),
    (torch.ones(2), {}, TypeError, "lr must be a number, got a tensor of shape"),
    (float("nan"), {}, ValueError, "lr is NaN"),
    (math.inf, {}, ValueError, "lr must be finite"),
    (0.0, dict(low=0, low_open=True), ValueError, r"lr must be in \(0, inf\), got 0"),
    (2.0, dict(low=0, high=1), ValueError, r"lr must be in \[0, 1\], got 2"),
    (1.0, dict(low=0, high=1, high_open=True), ValueError, r"lr must be in \[0, 1\), got 1"),
])
def test_number_refusals_name_the_argument(value, kw, error, message):
    with pytest.raises(error, match=message):
        number(value, "lr", **kw)


def test_number_may_allow_infinity():
    assert number(math.inf, "x", finite=False) == math.inf


def test_integer():
    assert integer(np.int32(4), "n", low=1) == 4 and integer(torch.tensor(4), "n") == 4
    for bad, error in ((2.0, TypeError), (True, TypeError), ("2", TypeError), (0, ValueError), (11, ValueError)):
        with pytest.raises(error, match="^n must be"):
            integer(bad, "n", low=1, high=10)


def test_check_finite_says_nan_or_inf_and_ignores_integers_and_empty():
    with pytest.raises(ValueError, match="^w contains NaN$"):
        check_finite(torch.tensor([1.0, float("nan"), float("inf")]), "w")
    with pytest.raises(ValueError, match="^w contains infinite values$"):
        check_finite(np.array([1.0, -np.inf]), "w")
    check_finite(torch.zeros(0), "w")
    check_finite(torch.arange(3), "w")
    check_finite([1.0, 2.0], "w")


def test_devices_name_both_arguments():
    check_same_device(a=torch.zeros(1), b=torch.zeros(1), c=1.0)
    with pytest.raises(ValueError, match="a is on cpu but b is on meta"):
        check_same_device(a=torch.zeros(1), b=torch.zeros(1, device="meta"))
