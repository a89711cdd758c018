"""One settings object for all of Nexo, read from the environment (prefix ``NEXO_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseModel):
    """The exchange API (``NEXO_API__...``): tokens, limits, policy files, audit."""

    issuer: str = Field(default="nexo", description="'iss' of the tokens Nexo signs.")
    audience: str = Field(default="nexo-api", description="'aud' of access tokens.")
    token_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="Larger requests: 413.")
    rate_per_second: float = Field(default=20.0, gt=0, description="Default for new clients.")
    burst: int = Field(default=40, ge=1, description="Default for new clients.")
    match_threshold: float = Field(default=0.95, gt=0, le=1)
    policy_dir: Path | None = Field(
        default=None, description="Folder with purposes.yaml and agreements/; default: built-in."
    )
    audit: bool = Field(
        default=True, description="Audit every request. Off only to measure its cost (bench)."
    )
    checkpoint_every: int = Field(default=1000, ge=1, description="Sign a checkpoint every N.")
    origin: str = Field(default="nexo.audit.log", description="Origin line of checkpoints.")


class Settings(BaseSettings):
    """Runtime settings.

    ``NEXO_HOME`` holds everything Nexo writes on its own (the embedded database, generated keys,
    synthetic data of the demo). ``NEXO_DATABASE_URL`` points at the operational store; when unset,
    an SQLite file inside ``NEXO_HOME`` is used.
    """

    model_config = SettingsConfigDict(env_prefix="NEXO_", env_nested_delimiter="__", extra="ignore")

    home: Path = Field(default=Path(".nexo"), description="Directory for Nexo's own files.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL of the store.")
    log_level: str = Field(default="WARNING", description="Level of the JSON logs on stderr.")
    api: ApiSettings = Field(default_factory=ApiSettings)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{(self.home / 'nexo.db').as_posix()}"


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
