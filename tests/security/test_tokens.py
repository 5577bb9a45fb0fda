"""Bearer tokens: they name one user, expire, and cannot be forged without the key."""

from __future__ import annotations

import uuid
from datetime import timedelta

import jwt
import pytest

from yigongti.kernel import Unauthenticated, now, uuid7
from yigongti.security import issue_token, user_id_of

SECRET = "test-secret-key-of-at-least-32-bytes!"


def test_a_token_names_the_user_it_was_issued_to() -> None:
    user = uuid7()
    assert user_id_of(issue_token(user, SECRET, 30), SECRET) == user


def test_an_expired_token_is_refused() -> None:
    with pytest.raises(Unauthenticated) as caught:
        user_id_of(issue_token(uuid7(), SECRET, -1), SECRET)
    assert "重新登录" in caught.value.zh


def test_a_token_signed_with_another_key_is_refused() -> None:
    forged = issue_token(uuid7(), "another-secret-key-of-32-bytes-or-more", 30)
    with pytest.raises(Unauthenticated):
        user_id_of(forged, SECRET)


def test_a_token_whose_user_was_swapped_is_refused() -> None:
    header, _, signature = issue_token(uuid7(), SECRET, 30).split(".")
    other = jwt.encode(
        {"sub": str(uuid7()), "exp": now() + timedelta(minutes=30)}, "x" * 32, algorithm="HS256"
    )
    swapped = ".".join([header, other.split(".")[1], signature])
    with pytest.raises(Unauthenticated):
        user_id_of(swapped, SECRET)


def test_an_unsigned_token_is_refused() -> None:
    unsigned = jwt.encode({"sub": str(uuid7())}, key=None, algorithm="none")
    with pytest.raises(Unauthenticated):
        user_id_of(unsigned, SECRET)


@pytest.mark.parametrize(
    "claims",
    [{"exp": 4_102_444_800}, {"sub": "not-a-uuid", "exp": 4_102_444_800}],
    ids=["no-subject", "subject-not-a-uuid"],
)
def test_a_token_without_a_valid_subject_is_refused(claims: dict[str, object]) -> None:
    with pytest.raises(Unauthenticated):
        user_id_of(jwt.encode(claims, SECRET, algorithm="HS256"), SECRET)


def test_garbage_is_not_a_token() -> None:
    with pytest.raises(Unauthenticated):
        user_id_of("Bearer nonsense", SECRET)


def test_the_subject_is_a_uuid_not_a_username() -> None:
    user = uuid7()
    claims = jwt.decode(issue_token(user, SECRET, 30), SECRET, algorithms=["HS256"])
    assert uuid.UUID(claims["sub"]) == user


def test_a_token_accepted_once_is_refused_once_it_has_expired(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = uuid7()
    token = issue_token(user, SECRET, 30)
    assert user_id_of(token, SECRET) == user  # its signature checked, the result kept
    later = now() + timedelta(minutes=31)
    monkeypatch.setattr("yigongti.security.tokens.time.time", later.timestamp)
    with pytest.raises(Unauthenticated):
        user_id_of(token, SECRET)


def test_a_token_that_never_expires_is_refused() -> None:
    with pytest.raises(Unauthenticated):
        user_id_of(jwt.encode({"sub": str(uuid7())}, SECRET, algorithm="HS256"), SECRET)


def test_a_token_with_characters_slipped_into_its_signature_is_refused() -> None:
    header, payload, signature = issue_token(uuid7(), SECRET, 30).split(".")
    for bent in (signature[:10] + "!" + signature[10:], signature + "==", signature + "."):
        with pytest.raises(Unauthenticated):
            user_id_of(".".join([header, payload, bent]), SECRET)


def test_a_token_signed_with_the_key_under_another_header_is_read_by_the_general_decoder() -> None:
    user = uuid7()
    claims = {"sub": str(user), "exp": now() + timedelta(minutes=5)}
    token = jwt.encode(claims, SECRET, algorithm="HS256", headers={"kid": "k1"})
    assert user_id_of(token, SECRET) == user
