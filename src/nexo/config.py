"""One settings object for all of Nexo, read from the environment (prefix ``NEXO_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DciSettings(BaseModel):
    """The DCI registry API (``NEXO_DCI__...``); see docs/dci.md."""

    registry_id: str = Field(
        default="nexo", max_length=99, description="Nexo's DCI sender/receiver id."
    )
    key_dir: Path | None = Field(
        default=None, description="Folder of Nexo's DCI signing keys (default: HOME/keys/dci)."
    )
    default_page_size: int = Field(default=100, ge=1)
    max_page_size: int = Field(default=1000, ge=1)
    max_scan: int = Field(
        default=10_000,
        ge=1,
        description="Matches of one search checked against the policy; total_count counts the "
        "visible ones among them.",
    )
    max_batch: int = Field(default=100, ge=1, description="Requests per DCI message.")
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    delivery_attempts: int = Field(default=8, ge=1, description="Tries per callback.")
    delivery_backoff_seconds: float = Field(default=2.0, gt=0)
    delivery_backoff_max_seconds: float = Field(default=900.0, gt=0)
    delivery_timeout_seconds: float = Field(default=10.0, gt=0)


class IngestSettings(BaseModel):
    """Ingest jobs (``NEXO_INGEST__CHUNK_ROWS``...)."""

    chunk_rows: int = Field(
        default=10_000, ge=1, description="Rows committed together (with the resume point)."
    )
    workers: int | None = Field(
        default=None,
        ge=0,
        description="Processes that map rows; 0 maps in the ingest process; unset: one per "
        "core (at most 4) for inputs of 16 MB or more. A vectorised mapping (the built-in "
        "person-csv) uses processes that each read the input and map every n-th chunk ahead "
        "instead: this many, or unset one per core (at most 2).",
    )
    defer_indexes: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="On SQLite, build the indexes that serve only readers (persons by "
        "identifier, facts by person) after a load instead of row by row: auto when the input "
        "has at least 10,000 rows and as many as the store holds; always; never.",
    )


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
    dci: DciSettings = Field(default_factory=DciSettings)

    ingest: IngestSettings = Field(default_factory=IngestSettings)

    linkage: LinkageSettings = Field(default_factory=LinkageSettings)
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
