"""Passwords: Argon2id hashes, and the 等保 2.0 complexity policy."""

from __future__ import annotations

import pytest

from yigongti.kernel import Invalid
from yigongti.security import validate_password
from yigongti.security.passwords import check_password, hash_password


def test_a_password_is_stored_as_an_argon2id_hash_not_in_clear() -> None:
    stored = hash_password("Yunling2025")
    assert stored.startswith("$argon2id$")
    assert "Yunling2025" not in stored


def test_the_right_password_matches_and_a_wrong_one_does_not() -> None:
    stored = hash_password("Yunling2025")
    assert check_password(stored, "Yunling2025")
    assert not check_password(stored, "yunling2025")
    assert not check_password(stored, "")


def test_the_same_password_hashes_differently_each_time() -> None:
    assert hash_password("Yunling2025") != hash_password("Yunling2025")


def test_a_damaged_hash_never_matches() -> None:
    assert not check_password("not-a-hash", "Yunling2025")


@pytest.mark.parametrize(
    "password", ["short1a", "onlyletters", "1234567890", "", "中文密码中文密码1"]
)
def test_a_weak_password_is_refused_naming_the_rule(password: str) -> None:
    with pytest.raises(Invalid) as caught:
        validate_password(password)
    assert caught.value.fields[0].field == "password"
    assert "至少8位" in caught.value.zh


@pytest.mark.parametrize("password", ["abcdefg1", "Yunling2025", "ygt-Ab3dE5gH7"])
def test_eight_characters_with_letters_and_digits_are_enough(password: str) -> None:
    validate_password(password)
