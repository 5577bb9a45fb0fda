"""The ``ygt`` command as an operator uses it: migrate, user create, audit verify."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import Engine, inspect, select, text
from typer.testing import CliRunner

from yigongti.cli import app
from yigongti.db import unit_of_work
from yigongti.db.migrate import upgrade
from yigongti.registry import NewInstitution, create_institution
from yigongti.security import User, system_actor
from yigongti.settings import get_settings

HOSPITAL_CODE = "47000000133078411A"

Ygt = Callable[..., Result]


@pytest.fixture
def ygt(empty_engine: Engine, tmp_path: Path) -> Iterator[Ygt]:
    """``ygt(*args)`` runs the command on the test database, as YGT_DATABASE_URL names it."""
    env = {
        "YGT_DATABASE_URL": empty_engine.url.render_as_string(hide_password=False),
        "YGT_DATA_DIR": str(tmp_path / "data"),
    }
    runner = CliRunner()

    def run(*args: str) -> Result:
        get_settings.cache_clear()
        return runner.invoke(app, list(args), env=env)

    yield run
    get_settings.cache_clear()


@pytest.fixture
def hospital_db(empty_engine: Engine) -> Engine:
    """A migrated database holding one county hospital."""
    upgrade(empty_engine)
    with unit_of_work(empty_engine) as session:
        create_institution(
            session,
            system_actor(),
            NewInstitution(
                code=HOSPITAL_CODE,
                name="云岭县人民医院",
                kind="county_hospital",
                county_code="330784",
            ),
        )
    return empty_engine


def _user(engine: Engine, username: str) -> User | None:
    with unit_of_work(engine) as session:
        return session.scalar(select(User).where(User.username == username))


def test_migrate_creates_the_schema_in_an_empty_database(ygt: Ygt, empty_engine: Engine) -> None:
    result = ygt("migrate")
    assert result.exit_code == 0, result.output
    assert "Schema is up to date" in result.output
    assert inspect(empty_engine).has_table("residents")


def test_migrate_does_not_print_the_database_password(ygt: Ygt, empty_engine: Engine) -> None:
    result = ygt("migrate")
    assert "@" not in result.output


def test_user_create_makes_an_account_that_belongs_to_the_institution(
    ygt: Ygt, hospital_db: Engine
) -> None:
    result = ygt(
        "user", "create", "--username", "zhang.wei", "--role", "county_doctor",
        "--institution-code", HOSPITAL_CODE, "--password", "Yunling2025",
        "--display-name", "张伟",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    user = _user(hospital_db, "zhang.wei")
    assert user is not None
    assert (user.role, user.display_name, user.active) == ("county_doctor", "张伟", True)
    assert user.institution_id is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "county_doctor", "--password", "short"], "at least 8 characters"),
        (["--role", "chief", "--password", "Yunling2025"], "Unknown role 'chief'"),
        (["--role", "county_doctor", "--password", "Yunling2025", "--institution-code", "NOPE01"],
         "no institution with code NOPE01"),
        (["--role", "resident", "--password", "Yunling2025"], "needs resident_id"),
    ],
    ids=["weak-password", "unknown-role", "unknown-institution", "resident-without-person"],
)  # fmt: skip
def test_user_create_with_bad_input_exits_2_with_the_reason_and_creates_nothing(
    ygt: Ygt, hospital_db: Engine, args: list[str], message: str
) -> None:
    institution = [] if "--institution-code" in args else ["--institution-code", HOSPITAL_CODE]
    result = ygt("user", "create", "--username", "li.na", *args, *institution)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert _user(hospital_db, "li.na") is None


def test_user_create_without_an_institution_for_a_staff_role_exits_2(
    ygt: Ygt, hospital_db: Engine
) -> None:
    result = ygt("user", "create", "--username", "li.na", "--role", "township_doctor",
                 "--password", "Yunling2025")  # fmt: skip
    assert result.exit_code == 2
    assert "needs institution_id" in result.output
    assert "账号须关联机构" in result.output


def test_user_create_refuses_a_taken_username(ygt: Ygt, hospital_db: Engine) -> None:
    args = ("user", "create", "--username", "wang.fang", "--role", "system_admin",
            "--institution-code", HOSPITAL_CODE, "--password", "Yunling2025")  # fmt: skip
    assert ygt(*args).exit_code == 0
    again = ygt(*args)
    assert again.exit_code == 2
    assert "is taken" in again.output


def test_audit_verify_passes_on_an_intact_log(ygt: Ygt, hospital_db: Engine) -> None:
    result = ygt("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "Audit chain intact: 1 rows" in result.output


def test_audit_verify_exits_1_naming_the_changed_row(ygt: Ygt, hospital_db: Engine) -> None:
    for name in ("a.one", "a.two", "a.three"):
        ygt("user", "create", "--username", name, "--role", "system_admin",
            "--institution-code", HOSPITAL_CODE, "--password", "Yunling2025")  # fmt: skip
    with hospital_db.begin() as connection:
        connection.execute(text("UPDATE audit_events SET detail = 'role=resident' WHERE seq = 3"))
    result = ygt("audit", "verify")
    assert result.exit_code == 1
    assert "audit row 3: content changed after it was written" in result.output
    assert "broken in 1 place(s) among 4 rows" in result.output
