"""One Settings object for the whole process (environment prefix ``YGT_``)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process settings; every field can be set as ``YGT_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="YGT_", extra="ignore")

    data_dir: Path = Path("ygt-data")
    database_url: str | None = None
    secret_key: str | None = None
    token_minutes: int = 8 * 60
    lockout_failures: int = 5
    lockout_minutes: int = 15
    max_body_bytes: int = 1_000_000
    bulk_import_max_bytes: int = 256_000_000  # body of POST /fhir/$import (NDJSON)
    county_code: str = "330784"
    county_name: str = "云岭县"
    job_interval_seconds: int = 0  # scheduled jobs in the server; 0 = off
    # A thread chains the audit log after commits, instead of each request (`ygt serve` sets it)
    audit_chain_in_background: bool = False
    # Build every API route's matching context at start-up, not in the first requests (serve)
    warm_routes_at_start: bool = False
    data_center_minutes: int = 60  # with the jobs: export, compute and alerts this often
    # Database connections per server process; API requests in progress are capped at the same
    # number (web.limits.Admission), so a burst waits its turn instead of holding connections
    # while it waits for a worker thread (which deadlocks until the pool times out).
    db_pool_size: int = 20
    # Master patient index: match probability that links at once, and from which a clerk decides.
    empi_link_threshold: float = 0.99
    empi_review_threshold: float = 0.80

    @property
    def effective_database_url(self) -> str:
        """The database URL: ``YGT_DATABASE_URL`` or an SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'yigongti.db').resolve()}"

    @property
    def lake_dir(self) -> Path:
        """The data center's Parquet lake: ``<data dir>/lake``."""
        return (self.data_dir / "lake").resolve()

    @property
    def effective_secret_key(self) -> str:
        """The signing key: ``YGT_SECRET_KEY`` or one kept in the data dir, made on first use."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
