"""One settings object for all of Nexo, read from the environment (prefix ``NEXO_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LinkageSettings(BaseModel):
    """Master person index (``NEXO_LINKAGE__...``); see docs/linkage.md, "Tuning"."""

    backend: str = Field(default="duckdb", description="duckdb, or spark (extra nexo[spark]).")
    link_threshold: float = Field(default=0.9, gt=0, le=1)
    review_threshold: float = Field(default=0.3, gt=0, le=1)
    source_trust: list[str] = Field(
        default=["social/beneficiaries", "employment/jobseekers"],
        description="agency/source (or agency) names, most trusted first (golden records).",
    )
    u_max_pairs: float = Field(default=3e6, ge=1e4)
    em_max_pairs: float = Field(default=1.5e6, ge=1e3)
    seed: int = 42


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
    linkage: LinkageSettings = Field(default_factory=LinkageSettings)

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
