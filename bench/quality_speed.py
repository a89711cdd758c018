"""Benchmark: 1,000,000 person records × 30 rules (target <= 20 s on 2 cores), Nexo vs Pandera.

The records are generated in memory (two agencies, every person linked in the master person
index, with missing identifiers, bad check digits, scanning slips in names, duplicates, impossible
and disagreeing birth dates, stale records). The 30 rules are the 21 shipped person rules plus 9
below. Nexo evaluates them with ``nexo.quality.evaluate``; the same 30 rules written directly as
a Pandera (Polars backend) schema are validated with ``lazy=True`` in the same run. Both return
every failing record of every rule; the script checks that they agree and prints the ratio.

``--store`` also times a whole ``run_quality`` on a SQLite store holding the same records
(reading the typed tables, evaluating, storing scores and failing records).

Run: python bench/quality_speed.py [--records N] [--store]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from nexo.model import EntityType
from nexo.quality.domain import Rule, RuleSet
from nexo.quality.evaluate import evaluate
from nexo.quality.frames import Frames
from nexo.quality.rules import load_rules

REF = date(2026, 6, 30)
TARGET_S = 20.0
EXTRA_RULES = [
    ("person.locality.required", "completeness", {"kind": "required", "field": "locality"}),
    ("person.postcode.required", "completeness", {"kind": "required", "field": "postcode"}),
    ("person.phone.required", "completeness", {"kind": "required", "field": "phone"}),
    (
        "person.postcode.format",
        "validity",
        {"kind": "pattern", "field": "postcode", "regex": "[0-9]{7}"},
    ),
    (
        "person.area.format",
        "validity",
        {"kind": "pattern", "field": "admin_area_code", "regex": "[0-9]{4,5}"},
    ),
    (
        "person.given_names.length",
        "validity",
        {"kind": "length", "field": "given_names", "min": 2, "max": 60},
    ),
    (
        "person.birth_date.after_1900",
        "validity",
        {"kind": "range", "field": "birth_date", "min": "1900-01-01"},
    ),
    (
        "person.update_after_birth",
        "consistency",
        {"kind": "compare", "left": "source_updated_on", "op": ">=", "right": "birth_date"},
    ),
    ("person.phone.unique", "uniqueness", {"kind": "unique", "fields": ["phone"]}),
]
GIVEN = ["Ana", "José", "María José", "Pedro", "Camila", "Luis", "Sofía", "Juan Carlos", "Rosa"]
FAMILY = ["Rojas", "González", "Muñoz", "Soto", "Díaz", "Pérez", "Silva", "Contreras", "Núñez"]


def rules() -> list[Rule]:
    shipped = [r for r in load_rules().rules if r.entity is EntityType.PERSON]
    extra = [
        Rule.model_validate(
            {
                "id": i,
                "entity": "person",
                "dimension": d,
                "owner": "bench",
                "description": f"Benchmark rule {i}.",
                "check": c,
            }
        )
        for i, d, c in EXTRA_RULES
    ]
    out = shipped + extra
    assert len(out) == 30, len(out)
    return out


def records(n: int, seed: int = 7) -> pl.DataFrame:
    """``n`` person records as a quality run sees them (typed columns + derived + person_id)."""
    rng = np.random.default_rng(seed)
    half = n // 2
    pid = np.concatenate([np.arange(half), np.arange(n - half)])  # each person in both agencies
    agency = np.where(np.arange(n) < half, "employment", "social")
    birth = np.datetime64("1950-01-01") + rng.integers(0, 365 * 55, n // 2 + 1)[pid]
    wrong_birth = rng.random(n) < 0.01
    birth = np.where(wrong_birth, birth + 365, birth)
    future = rng.random(n) < 0.002
    birth = np.where(future, np.datetime64(REF) + 30, birth)
    national = (10_000_000 + pid).astype(str)
    duplicate = rng.random(n) < 0.02
    dup_source = rng.integers(0, n // 2, n)
    national = np.where(duplicate, (10_000_000 + dup_source).astype(str), national)
    missing = rng.random(n) < 0.03
    given = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    given = np.where(rng.random(n) < 0.01, np.char.replace(given, "o", "0"), given)
    updated = np.datetime64(REF) - rng.integers(0, 800, n)
    phone = np.char.add("+56 9 ", (10_000_000 + rng.permutation(n)).astype(str))
    phone = np.where(rng.random(n) < 0.005, "+56 9 10000000", phone)  # one number, many persons
    frame = pl.DataFrame(
        {
            "id": np.arange(n),
            "agency": agency,
            "source": np.where(agency == "social", "beneficiaries", "jobseekers"),
            "record_id": np.char.add(
                np.where(agency == "social", "B", "E"), np.arange(n).astype(str)
            ),
            "given_names": given,
            "family_name": np.array(FAMILY)[rng.integers(0, len(FAMILY), n)],
            "second_family_name": np.array(FAMILY)[rng.integers(0, len(FAMILY), n)],
            "birth_date": birth.astype("datetime64[D]"),
            "sex": np.where(rng.random(n) < 0.003, "F", np.where(pid % 2 == 0, "female", "male")),
            "phone": phone,
            "email": np.where(rng.random(n) < 0.01, "ana(at)correo", "ana@correo.example"),
            "address_line": "Calle Esmeralda 12",
            "locality": "Valparaíso",
            "postcode": np.where(rng.random(n) < 0.01, "23400", "2340000"),
            "admin_area_code": "5101",
            "country": "CL",
            "source_updated_on": updated.astype("datetime64[D]"),
            "national_id": national,
            "national_id_scheme": "cl-run",
            "national_id_check_digit_ok": rng.random(n) > 0.01,
            "national_id_verified": False,
            "identifier_count": 1,
            "person_id": np.char.add("P", pid.astype(str)),
            "_missing": missing,
            "_no_email": rng.random(n) < 0.5,
            "_no_address": rng.random(n) < 0.01,
        }
    )
    none = pl.lit(None)
    ident = [
        "national_id",
        "national_id_scheme",
        "national_id_check_digit_ok",
        "national_id_verified",
    ]
    frame = frame.with_columns(
        *[pl.when(pl.col("_missing")).then(none).otherwise(pl.col(c)).alias(c) for c in ident],
        pl.when(pl.col("_missing"))
        .then(0)
        .otherwise(pl.col("identifier_count"))
        .alias("identifier_count"),
        pl.when(pl.col("_no_email")).then(none).otherwise(pl.col("email")).alias("email"),
        pl.when(pl.col("_no_address"))
        .then(none)
        .otherwise(pl.col("address_line"))
        .alias("address_line"),
        pl.lit(None, pl.String).alias("region"),
    ).drop("_missing", "_no_email", "_no_address")
    return frame


def nexo_failures(frame: pl.DataFrame, ruleset: list[Rule]) -> dict[str, int]:
    links = frame.select("agency", "source", "record_id", "person_id")
    frames = Frames({EntityType.PERSON: frame}, links, REF)
    return {r.rule.id: r.failed for r in evaluate(ruleset, frames)}


# ------------------------------------------------------------------ the same rules in Pandera

LETTERS = r"^[\p{L}][\p{L}\p{M} '.\-]*$"


def _required(col: str) -> pl.Expr:
    return pl.col(col).is_not_null() & (pl.col(col).cast(pl.String).str.strip_chars() != "")


def _unique_keep_first(fields: list[str], present: list[str]) -> pl.Expr:
    first = pl.int_range(pl.len()).over(["agency", *fields], order_by=["record_id", "source"]) == 0
    return (
        pl.when(pl.all_horizontal(pl.col(f).is_not_null() for f in present))
        .then(first)
        .otherwise(True)
    )


def _agrees(field: str):  # type: ignore[no-untyped-def]
    def check(data):  # type: ignore[no-untyped-def]
        lf = data.lazyframe.with_row_index("_i")
        other = lf.select("person_id", pl.col("agency").alias("_oa"), pl.col(field).alias("_ov"))
        bad = (
            lf.filter(pl.col(field).is_not_null() & pl.col("person_id").is_not_null())
            .join(other.filter(pl.col("_ov").is_not_null()), on="person_id")
            .filter((pl.col("agency") != pl.col("_oa")) & (pl.col(field) != pl.col("_ov")))
            .select("_i")
            .unique()
            .with_columns(pl.lit(False).alias("ok"))
        )
        return lf.join(bad, on="_i", how="left", maintain_order="left").select(
            pl.col("ok").fill_null(True)
        )

    return check


def pandera_schema():  # type: ignore[no-untyped-def]
    import pandera.polars as pa

    def frame_check(name: str, expr: pl.Expr) -> pa.Check:
        return pa.Check(lambda d, e=expr: d.lazyframe.select(e.alias("ok")), name=name)

    def col(dtype: type, *checks: pa.Check) -> pa.Column:
        return pa.Column(dtype, nullable=True, checks=list(checks))

    def letters() -> pa.Check:  # \\p{L} is Rust regex syntax; Python's re (str_matches) lacks it
        def check(d):  # type: ignore[no-untyped-def]
            c = pl.col(d.key)
            return d.lazyframe.select((c.is_null() | c.str.contains(LETTERS)).alias("ok"))

        return pa.Check(check, name="letters")

    s = pl.String
    age = (pl.lit(REF) - pl.col("source_updated_on")).dt.total_days()
    columns = {
        "birth_date": col(
            pl.Date, pa.Check.in_range(date(1906, 6, 30), REF), pa.Check.ge(date(1900, 1, 1))
        ),
        "sex": col(s, pa.Check.isin(["female", "male", "other", "unknown"])),
        "given_names": col(s, letters(), pa.Check.str_length(2, 60)),
        "family_name": col(s, letters()),
        "second_family_name": col(s, letters()),
        "email": col(s, pa.Check.str_matches(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")),
        "phone": col(s, pa.Check.str_matches(r"^\+?[0-9][0-9 ()\-]{5,19}$")),
        "country": col(s, pa.Check.str_matches(r"^[A-Z]{2}$")),
        "postcode": col(s, pa.Check.str_matches(r"^[0-9]{7}$")),
        "admin_area_code": col(s, pa.Check.str_matches(r"^[0-9]{4,5}$")),
    }
    checks = [
        frame_check(f"person.{n}.required", _required(c))
        for n, c in (
            ("national_id", "national_id"),
            ("birth_date", "birth_date"),
            ("given_names", "given_names"),
            ("family_name", "family_name"),
            ("sex", "sex"),
            ("address", "address_line"),
            ("area", "admin_area_code"),
            ("locality", "locality"),
            ("postcode", "postcode"),
            ("phone", "phone"),
        )
    ]
    checks += [
        frame_check(
            "person.national_id.check_digit",
            pl.col("national_id").is_null() | pl.col("national_id_check_digit_ok"),
        ),
        frame_check(
            "person.updated_within_2_years", pl.col("source_updated_on").is_null() | (age < 730)
        ),
        frame_check(
            "person.update_after_birth",
            pl.col("source_updated_on").is_null()
            | pl.col("birth_date").is_null()
            | (pl.col("source_updated_on") >= pl.col("birth_date")),
        ),
        frame_check(
            "person.national_id.unique",
            _unique_keep_first(
                ["national_id_scheme", "national_id"], ["national_id_scheme", "national_id"]
            ),
        ),
        frame_check(
            "person.name_and_birth_date.unique",
            _unique_keep_first(
                ["given_names", "family_name", "second_family_name", "birth_date"],
                ["given_names", "family_name", "birth_date"],
            ),
        ),
        frame_check("person.phone.unique", _unique_keep_first(["phone"], ["phone"])),
        pa.Check(_agrees("birth_date"), name="person.birth_date.agrees_across_agencies"),
        pa.Check(_agrees("sex"), name="person.sex.agrees_across_agencies"),
    ]
    return pa.DataFrameSchema(columns, checks=checks)


#: (column, built-in check) → rule id, to name Pandera's column-level failure cases
BUILTIN = {
    ("birth_date", "in_range"): "person.birth_date.plausible",
    ("birth_date", "greater_than_or_equal_to"): "person.birth_date.after_1900",
    ("sex", "isin"): "person.sex.code",
    ("given_names", "letters"): "person.given_names.letters",
    ("given_names", "str_length"): "person.given_names.length",
    ("family_name", "letters"): "person.family_name.letters",
    ("second_family_name", "letters"): "person.second_family_name.letters",
    ("email", "str_matches"): "person.email.format",
    ("phone", "str_matches"): "person.phone.format",
    ("country", "str_matches"): "person.country.code",
    ("postcode", "str_matches"): "person.postcode.format",
    ("admin_area_code", "str_matches"): "person.area.format",
}


def pandera_failures(frame: pl.DataFrame) -> dict[str, int]:
    """Validate with Pandera and count the failing records of each rule (all of them)."""
    import pandera.polars as pa

    try:
        pandera_schema().validate(frame, lazy=True)
        return {}
    except pa.errors.SchemaErrors as e:
        cases = e.failure_cases
    named = cases.with_columns(
        pl.when(pl.col("column").is_null())
        .then(pl.col("check"))
        .otherwise(pl.col("column") + "|" + pl.col("check").str.extract(r"^([a-z_]+)"))
        .alias("key")
    )
    counts = named.group_by("key").agg(pl.col("index").n_unique().alias("n"))
    out = {}
    for key, n in counts.iter_rows():
        column, _, check = key.partition("|")
        out[BUILTIN.get((column, check), key) if check else key] = int(n)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--store", action="store_true", help="also time run_quality on SQLite")
    args = parser.parse_args()
    ruleset = rules()
    t = time.perf_counter()
    frame = records(args.records)
    made = time.perf_counter() - t
    print(
        f"quality speed: {frame.height:,} person records × {len(ruleset)} rules "
        f"(generated in {made:.1f} s); polars threads {pl.thread_pool_size()}"
    )
    print(f"load average before: {os.getloadavg()}")
    t0 = time.perf_counter()
    ours = nexo_failures(frame, ruleset)
    nexo_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    theirs = pandera_failures(frame)
    pandera_s = time.perf_counter() - t1
    print(
        f"Nexo (Polars expressions and joins): {nexo_s:6.2f} s   "
        f"{'meets' if nexo_s <= TARGET_S else 'MISSES'} the {TARGET_S:.0f} s target"
    )
    print(f"Pandera {_pandera_version()} (Polars backend, lazy=True): {pandera_s:6.2f} s")
    print(f"ratio Pandera / Nexo: {pandera_s / nexo_s:.1f}x")
    mismatch = {k: (n, theirs.get(k, 0)) for k, n in ours.items() if n != theirs.get(k, 0)}
    agree = f"; rules that differ: {mismatch}" if mismatch else "; the same for every rule"
    print(
        f"failing records found: {sum(ours.values()):,} (Nexo), "
        f"{sum(theirs.values()):,} (Pandera){agree}"
    )
    for rule_id, n in sorted(ours.items()):
        print(f"  {rule_id:42} {n:9,}")
    if args.store:
        _store_run(frame, ruleset)
    print(f"load average after: {os.getloadavg()}")
    return 0 if nexo_s <= TARGET_S and not mismatch else 1


def _fill_store(engine, frame: pl.DataFrame) -> None:  # type: ignore[no-untyped-def]
    """Write the records straight into the store's tables (as ingest would leave them)."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from nexo.linkage.tables import MpiLinkRow, MpiPersonRow
    from nexo.store.migrate import upgrade
    from nexo.store.tables import PersonIdentifierRow, PersonRecordRow, SourceRecordRow

    upgrade(engine)
    now = datetime.now(UTC)
    n = frame.height
    person_cols = [c.name for c in PersonRecordRow.__table__.c if c.name != "source_record_pk"]
    with engine.begin() as conn:
        for chunk in frame.with_row_index("pk", offset=1).iter_slices(50_000):
            conn.execute(
                insert(SourceRecordRow),
                chunk.select(
                    pl.col("pk").alias("id"),
                    "agency",
                    "source",
                    pl.col("record_id").alias("source_record_id"),
                    pl.lit("person").alias("entity_type"),
                    pl.lit(1).alias("version"),
                    pl.lit(True).alias("is_current"),
                    pl.lit("0" * 64).alias("content_hash"),
                    pl.lit("bench").alias("batch_id"),
                    pl.lit(now).alias("received_at"),
                    pl.lit(None, pl.Datetime("us", "UTC")).alias("superseded_at"),
                    pl.lit(None, pl.String).alias("mapping_version"),
                    "source_updated_on",
                    pl.lit({"bench": True}).alias("data"),
                ).to_dicts(),
            )
            conn.execute(
                insert(PersonRecordRow),
                chunk.select(
                    pl.col("pk").alias("id"),
                    pl.col("pk").alias("source_record_pk"),
                    *[c for c in person_cols if c != "id"],
                ).to_dicts(),
            )
            conn.execute(
                insert(PersonIdentifierRow),
                chunk.filter(pl.col("national_id").is_not_null())
                .select(
                    pl.col("pk").alias("person_pk"),
                    pl.col("national_id_scheme").alias("scheme"),
                    pl.col("national_id").alias("value"),
                    pl.col("national_id_verified").alias("verified"),
                    pl.col("national_id_check_digit_ok").alias("check_digit_ok"),
                )
                .to_dicts(),
            )
        persons = frame.select("person_id").unique()
        for chunk in persons.iter_slices(50_000):
            conn.execute(
                insert(MpiPersonRow),
                chunk.with_columns(
                    status=pl.lit("active"),
                    merged_into=pl.lit(None, pl.String),
                    created_at=pl.lit(now),
                    updated_at=pl.lit(now),
                ).to_dicts(),
            )
        for chunk in frame.select("agency", "source", "record_id", "person_id").iter_slices(50_000):
            conn.execute(
                insert(MpiLinkRow),
                chunk.with_columns(
                    match_probability=pl.lit(1.0),
                    method=pl.lit("manual"),
                    run_id=pl.lit(None, pl.String),
                    linked_at=pl.lit(now),
                ).to_dicts(),
            )
    assert n == frame.height


def _pandera_version() -> str:
    import pandera

    return str(pandera.__version__)


def _store_run(frame: pl.DataFrame, ruleset: list[Rule]) -> None:
    from nexo.quality.service import run_quality
    from nexo.store.engine import make_engine, session_factory, transaction

    path = Path(tempfile.mkdtemp(prefix="nexo-bench-qspeed-")) / "nexo.db"
    t = time.perf_counter()
    engine = make_engine(f"sqlite:///{path}")
    _fill_store(engine, frame)
    print(f"store: {frame.height:,} records written to SQLite in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    with transaction(session_factory(engine)) as s:
        summary = run_quality(s, rules=RuleSet(rules=ruleset), reference_date=REF)
    total = time.perf_counter() - t
    tm = summary.timings
    print(
        f"run_quality on the store: {total:.1f} s (read tables {tm['load']:.1f} s, evaluate "
        f"{tm['evaluate']:.1f} s, store {summary.failure_count:,} failures {tm['store']:.1f} s)"
    )


if __name__ == "__main__":
    sys.exit(main())
