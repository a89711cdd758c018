"""Map a chunk of person rows column-wise with Polars, for the rows that are plainly clean.

The row-wise mapper (``mapper.py``) does everything a mapping may ask, one Python value at a
time. For a person mapping made of the common steps (``trim``, ``collapse_spaces``,
``empty_to_null``, code lists, ISO dates, identifiers with check digits), this module computes
the same thing for a whole chunk in a few vectorised expressions: every field's value, whether
the row is *clean*, and for clean rows the canonical JSON, its content hash and the projection.

A row is clean when nothing about it needs the row-wise mapper's judgement: its input values use
no character on which Python and Polars could disagree (control characters, quotes, backslashes,
whitespace other than the space), every step succeeds, every value is one the canonical model
accepts unchanged (lengths, codes, dates, no surrounding spaces), and every identifier is well
formed with a right check digit. Such a row yields no problem and no finding, so its output is
fully determined; any other row (a bad date, an unknown code, a wrong check digit, an exotic
character...) goes through the row-wise mapper, which gives it its reasons and findings exactly
as before. A mapping with anything else (other entities, conditions, defaults, other steps) is
not compiled at all (``compile_person`` returns ``None``). Tests compare both paths record for
record, byte for byte.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from collections.abc import Mapping as MappingABC
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal, overload

import polars as pl

from nexo.adapters import spec_steps as s
from nexo.adapters.fields import Field, Row
from nexo.adapters.transform import _table_of
from nexo.model import EntityType
from nexo.model.codes import Sex
from nexo.model.identifier import IdentifierScheme
from nexo.store.repository import PERSON_COLUMNS, PersonBatch
from nexo.store.staging import IDENTIFIERS, PERSONS, PersonColumns

if TYPE_CHECKING:
    from nexo.adapters.mapper import RowMapper

MAX_RECORD_ID = 128


# Python's whitespace (``str.isspace``; Unicode's White_Space, which Polars uses, and the
# information separators 0x1C-0x1F) but the space itself; a test checks it against Python's
SPACES = (
    0x9, 0xA, 0xB, 0xC, 0xD, 0x1C, 0x1D, 0x1E, 0x1F, 0x85, 0xA0, 0x1680, 0x2000, 0x2001, 0x2002,
    0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F,
    0x205F, 0x3000,
)  # fmt: skip


def _unsafe_class() -> str:
    """A regex class of the characters a clean input must not contain: control characters,
    quotes and backslashes (JSON escapes them) and whitespace but the space (Python, Polars
    and pydantic disagree on some). Polars text cannot hold surrogates at all."""
    ranges = [(0x00, 0x1F), (0x22, 0x22), (0x5C, 0x5C), (0x7F, 0x9F), *((c, c) for c in SPACES)]
    parts = [f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges]
    return "[" + "".join(parts) + "]"


_UNSAFE = _unsafe_class()
_UNSAFE_CODES = frozenset([*range(0x20), 0x22, 0x5C, *range(0x7F, 0xA0), *SPACES])


def _plain(value: object) -> bool:
    """A code list's value that a clean row may take (text with no unsafe character)."""
    return type(value) is str and not any(
        ord(c) in _UNSAFE_CODES or 0xD800 <= ord(c) <= 0xDFFF for c in value
    )


_TEXT = {
    ("given_names",): 120,
    ("family_name",): 80,
    ("second_family_name",): 80,
    ("address", "line"): 200,
    ("address", "locality"): 100,
    ("address", "postcode"): 16,
    ("address", "region"): 100,
    ("address", "admin_area_code"): 32,
    ("address", "country"): 2,
    ("contact", "phone"): 40,
    ("contact", "email"): 254,
}
_DATE = ("birth_date",)
_SEX = ("sex",)
_ADDRESS = ("line", "locality", "postcode", "region", "admin_area_code", "country")
_CONTACT = ("phone", "email")
_COLUMNS = (
    ("given_names", ("given_names",)),
    ("family_name", ("family_name",)),
    ("second_family_name", ("second_family_name",)),
    ("birth_date", _DATE),
    ("sex", _SEX),
    ("phone", ("contact", "phone")),
    ("email", ("contact", "email")),
    ("address_line", ("address", "line")),
    ("locality", ("address", "locality")),
    ("postcode", ("address", "postcode")),
    ("region", ("address", "region")),
    ("admin_area_code", ("address", "admin_area_code")),
    ("country", ("address", "country")),
)  # the projection's columns, in the order of ``projection.columns``
_SCHEMES = {IdentifierScheme.CL_RUN, IdentifierScheme.AGENCY, IdentifierScheme.OTHER}


class _NotVectorisable(Exception):
    pass


class _Compiler:
    def __init__(self, tables: MappingABC[str, Any]) -> None:
        self.tables = tables
        self.inputs: dict[str, None] = {}
        self.stages: list[list[pl.Expr]] = [[], []]

    def column(self, stage: int, e: pl.Expr) -> pl.Expr:
        """Compute ``e`` once, in a stage of its own (Polars' eager select would not share
        common subexpressions); the later stages refer to it by name."""
        name = f"_{len(self.stages[0]) + len(self.stages[1])}"
        self.stages[stage].append(e.alias(name))
        return pl.col(name)

    def field(self, f: Field, want_date: bool = False) -> tuple[pl.Expr, pl.Expr, pl.Expr | None]:
        """(value, bad, date text): the field's value, where the row is not clean, and for a
        date field the ISO text the date was read from (its JSON)."""
        spec = f.spec
        if not isinstance(spec.from_, str) or spec.when is not None or spec.default is not None:
            raise _NotVectorisable
        self.inputs[spec.from_] = None
        e = pl.col(spec.from_)
        bad = pl.lit(False)
        text: pl.Expr | None = None
        steps = list(spec.steps)
        for k, step in enumerate(steps):
            if text is not None:
                raise _NotVectorisable  # a step after the date
            if step == "trim":
                e = e.str.strip_chars(" ")
            elif step == "collapse_spaces":
                e = e.str.replace_all(" {2,}", " ").str.strip_chars(" ")  # (runs of one stay)
            elif step == "empty_to_null":
                e = pl.when(e == "").then(None).otherwise(e)
            elif isinstance(step, s.CodeListStep | s.CrosswalkStep | s.LookupStep):
                kind = next(iter(type(step).model_fields))
                table, _unknown, _name = _table_of(getattr(step, kind), self.tables)
                if not all(type(k) is str and _plain(v) for k, v in table.items()):
                    raise _NotVectorisable  # (a value JSON would escape: row-wise)
                new = e.replace_strict(
                    list(table), list(table.values()), default=None, return_dtype=pl.String
                )
                bad = bad | (e.is_not_null() & new.is_null())
                e = new
            elif isinstance(step, s.DateStep) and k == len(steps) - 1 and want_date:
                fmts = step.date.formats if isinstance(step.date, s.DateArgs) else step.date
                if fmts not in ("%Y-%m-%d", ["%Y-%m-%d"]):
                    raise _NotVectorisable
                text = e.str.strip_chars(" ")
                iso = text.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$") & ~text.str.starts_with(
                    "0000"
                )  # (Python's dates start in year 1)
                day = pl.when(iso).then(text.str.to_date("%Y-%m-%d", strict=False))
                bad = bad | (e.is_not_null() & (~iso | day.is_null()))
                e = day
            else:
                raise _NotVectorisable
        if want_date and text is None:
            raise _NotVectorisable  # the model would parse text itself
        if text is None:
            e = pl.when(e == "").then(None).otherwise(e)
        if spec.required:
            bad = bad | e.is_null()
        e = self.column(0, e)
        text = self.column(0, text) if text is not None else None
        return e, self.column(0, bad), text


def _json_text(e: pl.Expr) -> pl.Expr:
    return pl.when(e.is_null()).then(pl.lit("null")).otherwise(pl.lit('"') + e + pl.lit('"'))


class PersonVector:
    """A person mapping compiled to Polars expressions (see the module's doc)."""

    def __init__(
        self,
        inputs: list[str],
        stages: list[list[pl.Expr]],
        columns: list[str],
        schemes: list[str],
    ) -> None:
        self.inputs, self.stages, self.columns, self.schemes = inputs, stages, columns, schemes

    def run(self, rows: list[Row]) -> tuple[list[bool], PersonBatch]:
        """Which rows are clean, and the clean rows' records (in order); the other rows are
        left to the row-wise mapper."""
        inputs = self.inputs
        columns: Iterable[Sequence[Any]]
        try:
            picked = list(map(itemgetter(*inputs), rows))
            columns = zip(*picked, strict=True) if len(inputs) > 1 else [picked]
        except KeyError:  # a row without a column (the column reads as empty)
            columns = [[r.get(c) for r in rows] for c in inputs]
        try:
            frame = pl.DataFrame(
                [
                    pl.Series(c, values, dtype=pl.String, strict=True)
                    for c, values in zip(inputs, columns, strict=True)
                ]
            )
        except Exception:  # noqa: BLE001 - values Polars cannot hold as text...: row-wise
            return [False] * len(rows), PersonBatch()
        return self.run_frame(frame)

    @overload
    def run_frame(
        self, frame: pl.DataFrame, columnar: Literal[False] = False
    ) -> tuple[list[bool], PersonBatch]: ...
    @overload
    def run_frame(
        self, frame: pl.DataFrame, columnar: Literal[True]
    ) -> tuple[list[bool], PersonColumns]: ...
    @overload
    def run_frame(
        self, frame: pl.DataFrame, columnar: bool
    ) -> tuple[list[bool], PersonBatch | PersonColumns]: ...
    def run_frame(
        self, frame: pl.DataFrame, columnar: bool = False
    ) -> tuple[list[bool], PersonBatch | PersonColumns]:
        """``run`` for rows given as a frame of text columns (a column the frame lacks reads
        as empty, as a row without it); ``columnar``: the records as Arrow tables, for
        staging (``store/staging.py``)."""
        if frame.columns != self.inputs:
            have = set(frame.columns)
            frame = frame.select(
                pl.col(c) if c in have else pl.lit(None, pl.String).alias(c) for c in self.inputs
            )
        try:
            first, second, last = self.stages
            # (lazily: Polars then computes the subexpressions the stages share once; for a
            # chunk in memory its in-memory engine costs a tenth less than the streaming one)
            plan = frame.lazy().with_columns(first).with_columns(second).select(last)
            out = plan.collect(engine="in-memory")
        except Exception:  # noqa: BLE001 - whatever Polars cannot compute: row-wise
            empty = PersonColumns.of(PersonBatch()) if columnar else PersonBatch()
            return [False] * frame.height, empty
        mask = out["bad"].not_().fill_null(False)
        out = out.filter(mask)
        sha = hashlib.sha256
        if columnar:  # (hashed from the JSON's bytes: no text object is needed)
            raw = out["json"].cast(pl.Binary).to_list()
            hashes = [sha(b"person\x1f" + b).hexdigest() for b in raw]
            return mask.to_list(), self._columns(out, hashes)
        texts = out["json"].to_list()
        hashes = [sha(("person\x1f" + t).encode()).hexdigest() for t in texts]
        identifiers: list[tuple[tuple[Any, ...], ...]]
        found = [out[f"id{k}"].to_list() for k in range(len(self.schemes))]
        if len(found) == 1:
            (scheme,), (values,) = self.schemes, found
            identifiers = [() if v is None else ((scheme, v, False, True),) for v in values]
        else:
            identifiers = [
                tuple(
                    (scheme, v, False, True)
                    for scheme, v in zip(self.schemes, vs, strict=True)
                    if v is not None
                )
                for vs in zip(*found, strict=True)
            ] if found else [()] * len(texts)  # fmt: skip
        batch = PersonBatch(
            out["rid"].to_list(),
            texts,
            hashes,
            [out[c].to_list() for c in self.columns],
            identifiers,
        )
        return mask.to_list(), batch

    def _columns(self, out: pl.DataFrame, hashes: list[str]) -> PersonColumns:
        """The clean rows' records (``out``, with their ``hashes``) as Arrow tables: each
        person with its first identifier, the further ones apart."""
        out = out.with_row_index("pos", offset=1).with_columns(pl.col("pos").cast(pl.Int64))
        present = [pl.col(f"id{k}").is_not_null() for k in range(len(self.schemes))]

        def first(values: list[pl.Expr], kind: Any) -> pl.Expr:
            """The value of the first identifier present (null for a person without)."""
            chosen = [pl.when(p).then(v) for p, v in zip(present, values, strict=True)]
            return pl.coalesce(chosen) if chosen else pl.lit(None, kind)

        n = len(self.schemes)
        persons = out.select(
            "pos",
            pl.col("rid").alias("record_id"),
            pl.Series("content_hash", hashes, dtype=pl.String),
            pl.col("json").alias("data"),
            *(
                pl.col(c).cast(pl.String).alias(name)
                for c, name in zip(self.columns, PERSON_COLUMNS, strict=True)
            ),
            first([pl.lit(s, pl.String) for s in self.schemes], pl.String).alias("id_scheme"),
            first([pl.col(f"id{k}") for k in range(n)], pl.String).alias("id_value"),
            first([pl.lit(False)] * n, pl.Boolean).alias("id_verified"),
            first([pl.lit(True)] * n, pl.Boolean).alias("id_ok"),
        )
        further = [
            out.filter(present[k] & pl.any_horizontal(present[:k])).select(
                "pos",
                pl.lit(k, pl.Int64).alias("k"),
                pl.lit(scheme, pl.String).alias("scheme"),
                pl.col(f"id{k}").alias("value"),
                pl.lit(False).alias("verified"),
                pl.lit(True).alias("check_digit_ok"),
            )
            for k, scheme in enumerate(self.schemes)
            if k
        ]
        empty = PersonColumns.of(PersonBatch()).identifiers
        return PersonColumns(
            persons.to_arrow().cast(PERSONS),
            pl.concat(further).to_arrow().cast(IDENTIFIERS) if further else empty,
        )


def compile_person(mapper: RowMapper) -> PersonVector | None:
    """The mapping's vectorised form, or ``None`` when it uses anything this module lacks."""
    try:
        return _compile(mapper)
    except _NotVectorisable:
        return None


def _compile(mapper: RowMapper) -> PersonVector:
    spec = mapper.mapping.spec
    if (
        spec.format.type != "csv"
        or len(mapper.entities) != 1
        or mapper.updated_on is not None
        or spec.entities[0].when is not None
    ):
        raise _NotVectorisable
    entity = mapper.entities[0]
    if entity.type is not EntityType.PERSON:
        raise _NotVectorisable
    c = _Compiler(mapper.tables)
    rid, bad, _ = c.field(entity.record_id)
    bad = bad | rid.is_null() | (rid.str.len_chars() > MAX_RECORD_ID)
    values: dict[tuple[str, ...], pl.Expr] = {}
    texts: dict[tuple[str, ...], pl.Expr] = {}
    iso: pl.Expr = pl.lit(None)
    for path, f in entity.leaves:
        if path in values:
            raise _NotVectorisable
        if path == _DATE:
            v, b, t = c.field(f, want_date=True)
            assert t is not None
            texts[path] = (
                pl.when(v.is_null()).then(pl.lit("null")).otherwise(pl.lit('"') + t + pl.lit('"'))
            )
            iso = pl.when(v.is_null()).then(None).otherwise(t)  # (the batch holds ISO text)
        elif path in _TEXT or path == _SEX:
            v, b, _ = c.field(f)
            if path == _SEX:
                b = b | (v.is_not_null() & ~v.is_in([x.value for x in Sex]))
            else:
                too_long = v.str.len_chars() > _TEXT[path]
                spaced = v.str.starts_with(" ") | v.str.ends_with(" ")
                b = b | (v.is_not_null() & (too_long | spaced))
                if path == ("address", "country"):
                    b = b | (v.is_not_null() & ~v.str.contains("^[A-Z]{2}$"))
            texts[path] = _json_text(v)
        else:
            raise _NotVectorisable
        values[path], bad = v, bad | b
    schemes: list[str] = []
    ident_json: list[pl.Expr] = []
    ident_values: list[pl.Expr] = []
    for ident in entity.identifiers:
        ispec = ident.spec
        if ispec.scheme not in _SCHEMES or ispec.verified is not False:
            raise _NotVectorisable
        v, b, _ = c.field(ident.value)
        if ispec.scheme is IdentifierScheme.CL_RUN:
            n = v.str.replace_all(r"[ .\-]", "").str.to_uppercase()
            n = c.column(1, pl.when(n == "").then(None).otherwise(n))
            b = b | (v.is_not_null() & v.str.contains(r"[^ -~]"))  # ASCII only
            b = b | (n.is_not_null() & ~_run_ok(n))
        else:
            n = v.str.strip_chars(" ")
            n = c.column(1, pl.when(n == "").then(None).otherwise(n))
        b = b | (n.is_not_null() & (n.str.len_chars() > 64))
        bad = bad | b
        scheme = ispec.scheme.value
        schemes.append(scheme)
        ident_values.append(n.alias(f"id{len(ident_values)}"))
        ident_json.append(
            pl.lit(f'{{"scheme":"{scheme}","value":"') + n + pl.lit('","verified":false}')
        )
    for col in c.inputs:
        bad = bad | pl.col(col).str.contains(_UNSAFE).fill_null(False)

    def nested(prefix: str, keys: tuple[str, ...]) -> pl.Expr:
        present = [values[(prefix, k)] for k in keys if (prefix, k) in values]
        if not present:
            return pl.lit("null")
        inner = [pl.lit("{")]
        for j, k in enumerate(keys):
            inner.append(pl.lit(("," if j else "") + f'"{k}":'))
            inner.append(texts.get((prefix, k), pl.lit("null")))
        inner.append(pl.lit("}"))
        anything = pl.any_horizontal([p.is_not_null() for p in present])
        return pl.when(anything).then(pl.concat_str(inner)).otherwise(pl.lit("null"))

    def top(path: tuple[str, ...]) -> pl.Expr:
        return texts.get(path, pl.lit("null"))

    idents = (
        pl.concat_str(ident_json, separator=",", ignore_nulls=True) if ident_json else pl.lit("")
    )
    json = pl.concat_str(
        [
            pl.lit('{"given_names":'), top(("given_names",)),
            pl.lit(',"family_name":'), top(("family_name",)),
            pl.lit(',"second_family_name":'), top(("second_family_name",)),
            pl.lit(',"birth_date":'), top(_DATE),
            pl.lit(',"sex":'), top(_SEX),
            pl.lit(',"identifiers":['), idents,
            pl.lit('],"contact":'), nested("contact", _CONTACT),
            pl.lit(',"address":'), nested("address", _ADDRESS),
            pl.lit("}"),
        ]
    )  # fmt: skip
    exprs = [rid.alias("rid"), bad.fill_null(True).alias("bad"), json.alias("json")]
    columns = []
    paths = dict(_COLUMNS)
    for name in PERSON_COLUMNS:
        path = paths[name]
        value = iso if path == _DATE else values.get(path, pl.lit(None))
        exprs.append(value.alias(f"c_{name}"))
        columns.append(f"c_{name}")
    exprs += ident_values
    return PersonVector(list(c.inputs), [*c.stages, exprs], columns, schemes)


def _run_ok(n: pl.Expr) -> pl.Expr:
    """A normalised Chile RUN is well formed and its mod-11 check digit is right."""
    shaped = n.str.contains(r"^[0-9]{6,8}[0-9K]$")
    body = n.str.head(-1).cast(pl.Int64, strict=False)
    total = pl.sum_horizontal([(body // 10**k) % 10 * (2 + k % 6) for k in range(8)])
    # the check digit's value: 11 - total % 11, written "0" for 11 and "K" for 10
    given = n.str.tail(1).replace_strict(
        [*"0123456789K"], [11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], default=None, return_dtype=pl.Int64
    )
    return shaped & (given == 11 - total % 11)


__all__ = ["PersonVector", "compile_person"]
