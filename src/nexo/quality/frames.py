"""The data a quality run reads: one Polars frame per entity, keyed and linked to persons.

``prepare`` turns what the repository read from the store (the typed tables, identifiers and the
master person index) into ``Frames``: every frame has ``agency, source, record_id`` and
``person_id`` (null when the record is not linked); person frames also get the national
identifier in columns (``national_id``, ``national_id_scheme``, ``national_id_check_digit_ok``,
``national_id_verified``, ``identifier_count``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import polars as pl

from nexo.model.codes import EntityType
from nexo.model.identifier import IdentifierScheme

KEY = ["agency", "source", "record_id"]
LINKS_SCHEMA = {"agency": pl.String, "source": pl.String, "record_id": pl.String}
NATIONAL_SCHEMES = [
    s.value for s in IdentifierScheme if s not in (IdentifierScheme.AGENCY, IdentifierScheme.OTHER)
]
PERSON_DERIVED = {
    "national_id": pl.String,
    "national_id_scheme": pl.String,
    "national_id_check_digit_ok": pl.Boolean,
    "national_id_verified": pl.Boolean,
    "identifier_count": pl.UInt32,
}


@dataclass(frozen=True)
class RawFrames:
    """As read from the store."""

    tables: Mapping[EntityType, pl.DataFrame]
    identifiers: pl.DataFrame  # person_pk, scheme, value, verified, check_digit_ok
    links: pl.DataFrame  # agency, source, record_id, person_id
    merges: pl.DataFrame  # person_id, merged_into (persons merged into another)


@dataclass(frozen=True)
class Frames:
    tables: Mapping[EntityType, pl.DataFrame]
    links: pl.DataFrame  # agency, source, record_id, person_id (merges resolved)
    reference_date: date
    _empty: dict[EntityType, pl.DataFrame] = field(default_factory=dict)

    def table(self, entity: EntityType) -> pl.DataFrame:
        frame = self.tables.get(entity)
        if frame is not None:
            return frame
        return pl.DataFrame(schema={**LINKS_SCHEMA, "person_id": pl.String})

    def record_count(self) -> int:
        return sum(f.height for f in self.tables.values())

    @cached_property
    def multi_agency_persons(self) -> pl.DataFrame:
        """Persons with records in two agencies or more: the ones cross-agency rules can check."""
        return (
            self.links.group_by("person_id")
            .agg(pl.col("agency").n_unique().alias("agencies"))
            .filter(pl.col("agencies") >= 2)
            .select("person_id")
        )


def resolve_merges(links: pl.DataFrame, merges: pl.DataFrame, rounds: int = 16) -> pl.DataFrame:
    """Point every link at the surviving person (``merged_into`` chains are followed)."""
    if merges.is_empty():
        return links
    m = merges.select("person_id", "merged_into")
    for _ in range(rounds):
        joined = links.join(m, on="person_id", how="left")
        if joined["merged_into"].null_count() == joined.height:
            return links
        links = joined.with_columns(
            pl.coalesce("merged_into", "person_id").alias("person_id")
        ).drop("merged_into")
    return links


def _national_ids(identifiers: pl.DataFrame) -> pl.DataFrame:
    counts = identifiers.group_by("person_pk").agg(pl.len().alias("identifier_count"))
    national = (
        identifiers.filter(pl.col("scheme").is_in(NATIONAL_SCHEMES))
        .sort("person_pk", "scheme", "value")
        .group_by("person_pk", maintain_order=True)
        .agg(
            pl.col("value").first().alias("national_id"),
            pl.col("scheme").first().alias("national_id_scheme"),
            pl.col("check_digit_ok").first().alias("national_id_check_digit_ok"),
            pl.col("verified").first().alias("national_id_verified"),
        )
    )
    return counts.join(national, on="person_pk", how="left")


def _with_persons(frame: pl.DataFrame, entity: EntityType, links: pl.DataFrame) -> pl.DataFrame:
    if "person_id" in frame.columns:
        frame = frame.drop("person_id")
    link = links.select(
        pl.col("agency"),
        pl.col("source").alias("_link_source"),
        pl.col("record_id").alias("_link_record"),
        pl.col("person_id"),
    )
    if entity is EntityType.PERSON:
        left = frame.with_columns(
            pl.col("source").alias("_link_source"), pl.col("record_id").alias("_link_record")
        )
    elif "person_record_id" in frame.columns:
        src = (
            pl.coalesce("person_source", "source")
            if "person_source" in frame.columns
            else pl.col("source")
        )
        left = frame.with_columns(
            src.alias("_link_source"), pl.col("person_record_id").alias("_link_record")
        )
    else:
        return frame.with_columns(pl.lit(None, dtype=pl.String).alias("person_id"))
    return left.join(
        link, on=["agency", "_link_source", "_link_record"], how="left", maintain_order="left"
    ).drop("_link_source", "_link_record")


def prepare(raw: RawFrames, reference_date: date) -> Frames:
    links = resolve_merges(raw.links, raw.merges)
    tables: dict[EntityType, pl.DataFrame] = {}
    for entity, frame in raw.tables.items():
        if entity is EntityType.PERSON:
            ids = _national_ids(raw.identifiers)
            frame = frame.join(ids, left_on="id", right_on="person_pk", how="left")
            frame = frame.with_columns(pl.col("identifier_count").fill_null(0))
        tables[entity] = _with_persons(frame, entity, links)
    return Frames(tables, links, reference_date)


def fields_by_entity(columns: Mapping[EntityType, list[str]]) -> dict[EntityType, set[str]]:
    """The fields rules may name: the table's columns, ``person_id`` and derived columns."""
    out = {}
    for entity, cols in columns.items():
        names = set(cols) | {"person_id"}
        if entity is EntityType.PERSON:
            names |= set(PERSON_DERIVED)
        out[entity] = names
    return out
