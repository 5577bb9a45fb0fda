"""Masking of ID numbers and phones in every view that has not revealed them."""

from __future__ import annotations

from yigongti.kernel import mask_id_number, mask_phone


def test_id_number_keeps_area_code_and_last_four() -> None:
    assert mask_id_number("33078419900101123X") == "330784********123X"


def test_legacy_15_digit_id_number_keeps_area_code_and_last_four() -> None:
    assert mask_id_number("330784900101123") == "330784*****1123"


def test_a_short_value_is_masked_all_but_two() -> None:
    assert mask_id_number("1234567") == "12*****"


def test_missing_values_stay_missing() -> None:
    assert mask_id_number(None) is None
    assert mask_phone(None) is None
    assert mask_id_number("") == ""


def test_mobile_phone_keeps_prefix_and_last_four() -> None:
    assert mask_phone("13812345678") == "138****5678"


def test_a_short_phone_is_masked_entirely() -> None:
    assert mask_phone("12345") == "*****"
