"""From person records to the comparison columns linkage works on (Arrow tables).

``raw_table`` lays records out as columns; ``to_table`` derives the comparison columns. Text is
normalised per *distinct* value with the same Python functions that ``features`` applies to a
single record, so batch linkage and single-record matching normalise identically, and a country
with a million records but a few thousand names normalises fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from nexo.linkage import normalise as norm
from nexo.linkage.domain import Demographics, RecordKey

RAW_SCHEMA = pa.schema(
    [
        ("unique_id", pa.int64()),
        ("agency", pa.string()),
        ("source", pa.string()),
        ("record_id", pa.string()),
        ("given_names", pa.string()),
        ("family_name", pa.string()),
        ("second_family_name", pa.string()),
        ("birth_date", pa.date32()),
        ("sex", pa.string()),
        ("id_scheme", pa.string()),
        ("id_value", pa.string()),
        ("id_verified", pa.bool_()),
        ("id_check_ok", pa.bool_()),
        ("phone", pa.string()),
        ("email", pa.string()),
        ("address_line", pa.string()),
        ("locality", pa.string()),
        ("postcode", pa.string()),
        ("region", pa.string()),
        ("admin_area_code", pa.string()),
        ("country", pa.string()),
        ("updated_on", pa.date32()),
    ]
)

SCHEMA = pa.schema(
    [
        ("unique_id", pa.int64()),
        ("given", pa.string()),  # all given names, normalised
        ("given1", pa.string()),  # the first given name
        ("given_ph", pa.string()),  # phonetic key of the first given name
        ("family", pa.string()),  # (first) family name
        ("family_ph", pa.string()),
        ("family2", pa.string()),  # second family name (Hispanic naming), else null
        ("family2_ph", pa.string()),
        ("family_full", pa.string()),  # both family names, for exact matching with frequencies
        ("dob", pa.string()),  # ISO birth date
        ("dob_t", pa.string()),  # birth date with day and month swapped
        ("birth_year", pa.int32()),
        ("birth_md", pa.string()),  # MM-DD
        ("sex", pa.string()),
        ("nid", pa.string()),  # scheme:value of the national identifier
        ("nid_ok", pa.bool_()),  # check digit valid
        ("nid_verified", pa.bool_()),  # verified against a registry (and check digit valid)
        ("addr", pa.string()),
        ("postcode", pa.string()),
        ("area", pa.string()),  # admin area code (commune, Gemeinde)
        ("phone", pa.string()),
        ("email", pa.string()),
    ]
)
COLUMNS = tuple(SCHEMA.names)


def _family_full(family: str | None, family2: str | None) -> str | None:
    return " ".join(n for n in (family, family2) if n) or None


def _strip(value: str | None) -> str | None:
    return (value or "").strip() or None


def features(d: Demographics, unique_id: int = 0) -> dict[str, Any]:
    """The comparison columns of one record."""
    given = norm.name(d.given_names)
    given1 = norm.first_token(given)
    family = norm.name(d.family_name)
    family2 = norm.name(d.second_family_name)
    dob = d.birth_date
    nid = f"{d.id_scheme}:{d.id_value}" if d.id_scheme and d.id_value else None
    return {
        "unique_id": unique_id,
        "given": given,
        "given1": given1,
        "given_ph": norm.phonetic(given1),
        "family": family,
        "family_ph": norm.phonetic(family),
        "family2": family2,
        "family2_ph": norm.phonetic(family2),
        "family_full": _family_full(family, family2),
        "dob": dob.isoformat() if dob else None,
        "dob_t": norm.transposed(dob),
        "birth_year": dob.year if dob else None,
        "birth_md": f"{dob.month:02d}-{dob.day:02d}" if dob else None,
        "sex": norm.sex(d.sex),
        "nid": nid,
        "nid_ok": bool(nid and d.id_check_ok),
        "nid_verified": bool(nid and d.id_verified and d.id_check_ok),
        "addr": norm.address(d.address_line),
        "postcode": _strip(d.postcode),
        "area": _strip(d.admin_area_code),
        "phone": norm.phone(d.phone),
        "email": norm.email(d.email),
    }


def raw_table(records: Sequence[Demographics]) -> pa.Table:
    """Records as columns; ``unique_id`` is the position in ``records``."""
    cols: dict[str, list[Any]] = {name: [] for name in RAW_SCHEMA.names}
    cols["unique_id"] = list(range(len(records)))
    plain = [n for n in RAW_SCHEMA.names if n not in ("unique_id", "agency", "source", "record_id")]
    for d in records:
        cols["agency"].append(d.key.agency)
        cols["source"].append(d.key.source)
        cols["record_id"].append(d.key.record_id)
        for name in plain:
            cols[name].append(getattr(d, name))
    return pa.Table.from_pydict(cols, schema=RAW_SCHEMA)


def demographics_of(raw: pa.Table, i: int) -> Demographics:
    row = raw.slice(i, 1).to_pylist()[0]
    key = RecordKey(row.pop("agency"), row.pop("source"), row.pop("record_id"))
    row.pop("unique_id")
    return Demographics(key=key, **row)


def _per_value(column: pa.ChunkedArray | pa.Array, fn: Callable[[Any], Any]) -> pa.Array:
    """Apply ``fn`` once per distinct value (nulls stay null)."""
    encoded = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    values = [fn(v) for v in encoded.dictionary.to_pylist()]
    return pa.array(values, type=pa.string()).take(encoded.indices)


def _concat_nullable(a: pa.Array, b: pa.Array) -> pa.Array:
    # (not binary_join_element_wise with null_handling="skip": it drops all-null rows)
    pairs = zip(a.to_pylist(), b.to_pylist(), strict=True)
    return pa.array([_family_full(x, y) for x, y in pairs], type=pa.string())


def to_table(raw: pa.Table) -> pa.Table:
    """The comparison table of ``raw`` (see ``SCHEMA``)."""
    given = _per_value(raw["given_names"], norm.name)
    given1 = _per_value(given, norm.first_token)
    family = _per_value(raw["family_name"], norm.name)
    family2 = _per_value(raw["second_family_name"], norm.name)
    dob = pc.cast(raw["birth_date"], pa.timestamp("s"))
    nid_present = pc.and_(pc.is_valid(raw["id_scheme"]), pc.is_valid(raw["id_value"]))
    nid = pc.if_else(
        nid_present,
        pc.binary_join_element_wise(raw["id_scheme"], raw["id_value"], ":"),
        pa.scalar(None, pa.string()),
    )
    nid_ok = pc.and_(nid_present, pc.fill_null(raw["id_check_ok"], False))
    nid_verified = pc.and_(nid_ok, pc.fill_null(raw["id_verified"], False))
    iso = pc.strftime(dob, format="%Y-%m-%d")
    columns = {
        "unique_id": raw["unique_id"],
        "given": given,
        "given1": given1,
        "given_ph": _per_value(given1, norm.phonetic),
        "family": family,
        "family_ph": _per_value(family, norm.phonetic),
        "family2": family2,
        "family2_ph": _per_value(family2, norm.phonetic),
        "family_full": _concat_nullable(family, family2),
        "dob": iso,
        "dob_t": _per_value(iso, norm.transposed_iso),
        "birth_year": pc.cast(pc.year(dob), pa.int32()),
        "birth_md": pc.strftime(dob, format="%m-%d"),
        "sex": _per_value(raw["sex"], norm.sex),
        "nid": nid,
        "nid_ok": pc.fill_null(nid_ok, False),
        "nid_verified": pc.fill_null(nid_verified, False),
        "addr": _per_value(raw["address_line"], norm.address),
        "postcode": _per_value(raw["postcode"], _strip),
        "area": _per_value(raw["admin_area_code"], _strip),
        "phone": _per_value(raw["phone"], norm.phone),
        "email": _per_value(raw["email"], norm.email),
    }
    table = pa.Table.from_pydict(columns, schema=SCHEMA)
    common = placeholders(table)
    table = without_placeholders(table, common)
    meta = {b"nexo_placeholders": json.dumps({k: sorted(v) for k, v in common.items()}).encode()}
    return table.replace_schema_metadata(meta)


def placeholders_of(table: pa.Table) -> dict[str, set[str]]:
    """The placeholder values ``to_table`` removed from a comparison table."""
    meta = (table.schema.metadata or {}).get(b"nexo_placeholders")
    return {k: set(v) for k, v in json.loads(meta).items()} if meta else {}


#: a phone, e-mail or identifier held by more records than this is a placeholder, not personal
SHARED_LIMIT = 8
PERSONAL_COLUMNS = ("phone", "email", "nid")


def placeholders(table: pa.Table, limit: int = SHARED_LIMIT) -> dict[str, set[str]]:
    """Values of personal columns that too many records share (``user@mail``, ``000000``)."""
    out: dict[str, set[str]] = {}
    for col in PERSONAL_COLUMNS:
        counts = pc.value_counts(table[col].drop_null())
        values = counts.field("values")
        many = pc.filter(values, pc.greater(counts.field("counts"), limit))
        out[col] = set(many.to_pylist())
    return out


def without_placeholders(table: pa.Table, common: dict[str, set[str]]) -> pa.Table:
    """``table`` with placeholder values treated as missing."""
    for col, values in common.items():
        if not values:
            continue
        column = table[col]
        hit = pc.is_in(column, value_set=pa.array(sorted(values), pa.string()))
        cleaned = pc.if_else(hit, pa.scalar(None, pa.string()), column)
        table = table.set_column(table.schema.get_field_index(col), col, cleaned)
        if col == "nid":
            for flag in ("nid_ok", "nid_verified"):
                i = table.schema.get_field_index(flag)
                table = table.set_column(i, flag, pc.if_else(hit, False, table[flag]))
    return table


def rows(table: pa.Table, columns: Sequence[str] = COLUMNS) -> dict[str, list[Any]]:
    """Columns of a comparison table as Python lists (for the in-memory index)."""
    return {c: table.column(c).to_pylist() for c in columns}
