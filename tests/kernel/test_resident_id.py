"""GB 11643 resident ID numbers: what registration desks rely on when they type one in."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.kernel import Invalid, make_resident_id, parse_resident_id
from yigongti.kernel.resident_id import CHECK_CHARS, check_char, province_codes

areas = st.builds(
    lambda province, rest: province + rest,
    st.sampled_from(sorted(province_codes())),
    st.from_regex(r"\A[0-9]{4}\Z"),
)
births = st.dates(min_value=date(1880, 1, 1), max_value=date.today())
sequences = st.integers(min_value=0, max_value=999)


def _refusal(number: str) -> Invalid:
    with pytest.raises(Invalid) as caught:
        parse_resident_id(number)
    return caught.value


@given(area=areas, birth=births, sequence=sequences)
def test_a_made_id_parses_back_to_its_area_birth_date_and_sex(
    area: str, birth: date, sequence: int
) -> None:
    parsed = parse_resident_id(make_resident_id(area, birth, sequence))
    assert parsed.area_code == area
    assert parsed.birth_date == birth
    assert parsed.sex == ("male" if sequence % 2 else "female")
    assert len(parsed.number) == 18


@given(
    area=areas,
    birth=births,
    sequence=sequences,
    position=st.integers(min_value=0, max_value=16),
    shift=st.integers(min_value=1, max_value=9),
)
def test_changing_any_one_of_the_first_17_digits_is_detected(
    area: str, birth: date, sequence: int, position: int, shift: int
) -> None:
    number = make_resident_id(area, birth, sequence)
    digit = str((int(number[position]) + shift) % 10)
    typo = number[:position] + digit + number[position + 1 :]
    error = _refusal(typo)
    assert [f.field for f in error.fields] == ["id_number"]


@given(
    area=areas,
    birth=births,
    sequence=sequences,
    position=st.integers(min_value=14, max_value=16),
    shift=st.integers(min_value=1, max_value=9),
)
def test_a_typo_in_the_sequence_names_the_check_char_the_typed_digits_need(
    area: str, birth: date, sequence: int, position: int, shift: int
) -> None:
    number = make_resident_id(area, birth, sequence)
    digit = str((int(number[position]) + shift) % 10)
    typo = number[:position] + digit + number[position + 1 :]
    expected = check_char(typo[:17])
    error = _refusal(typo)
    assert f"第18位应为 {expected}" in error.zh
    assert f"18th character should be {expected}" in error.en


@given(area=areas, birth=births, sequence=sequences, wrong=st.sampled_from(CHECK_CHARS))
def test_a_wrong_check_char_is_refused_naming_the_right_one(
    area: str, birth: date, sequence: int, wrong: str
) -> None:
    number = make_resident_id(area, birth, sequence)
    if wrong == number[17]:
        return
    error = _refusal(number[:17] + wrong)
    assert error.zh == f"居民身份证号校验位错误：第18位应为 {number[17]}"
    assert error.fields[0].field == "id_number"


def test_known_number_with_x_check_char_is_accepted_in_lower_case_and_with_spaces() -> None:
    first17 = "33078419900101001"
    assert check_char(first17) == "X"
    parsed = parse_resident_id(f"  {first17}x ")
    assert parsed.number == first17 + "X"
    assert parsed.birth_date == date(1990, 1, 1)
    assert parsed.sex == "male"


@pytest.mark.parametrize("number", ["", "3307841990", "3307841990010100123", "33078419900101"])
def test_wrong_length_is_refused_saying_how_many_characters_were_given(number: str) -> None:
    error = _refusal(number)
    assert f"实为{len(number)}位" in error.zh
    assert f"got {len(number)}" in error.en


def test_a_letter_among_the_digits_names_its_position() -> None:
    error = _refusal("3307841990O1010011")
    assert error.zh == "居民身份证号第11位应为数字"


def test_a_full_width_digit_is_not_a_digit() -> None:
    number = make_resident_id("330784", date(1990, 1, 1), 1)
    error = _refusal("３" + number[1:])
    assert "第1位应为数字" in error.zh


def test_an_18th_character_other_than_digit_or_x_is_refused() -> None:
    error = _refusal("33078419900101001Y")
    assert "第18位应为数字或 X" in error.zh


def test_february_30th_is_not_a_birth_date() -> None:
    first17 = "33078419990230001"
    error = _refusal(first17 + check_char(first17))
    assert "出生日期 19990230 不是有效日期" in error.zh


def test_a_birth_date_after_today_is_refused() -> None:
    error = _refusal(make_resident_id("330784", date.today() + timedelta(days=1), 1))
    assert "不是有效日期" in error.zh


def test_a_birth_year_before_1880_is_refused() -> None:
    error = _refusal(make_resident_id("330784", date(1879, 12, 31), 1))
    assert "18791231" in error.en


def test_unknown_province_code_is_refused_naming_it() -> None:
    error = _refusal(make_resident_id("990784", date(1990, 1, 1), 1))
    assert "省级代码 99 不存在" in error.zh


def test_a_15_digit_legacy_number_has_a_20th_century_birth_date_and_no_check_char() -> None:
    parsed = parse_resident_id("330784900101123")
    assert parsed.birth_date == date(1990, 1, 1)
    assert parsed.sex == "male"
    assert parsed.area_code == "330784"
    assert parse_resident_id("330784900101122").sex == "female"


def test_a_15_digit_legacy_number_with_an_impossible_date_is_refused() -> None:
    error = _refusal("330784990230123")
    assert "19990230" in error.en


def test_the_error_names_the_field_it_was_asked_about() -> None:
    with pytest.raises(Invalid) as caught:
        parse_resident_id("123", field="guardian_id_number")
    assert caught.value.fields[0].field == "guardian_id_number"
