"""Reading CSV in plain blocks (Polars) gives exactly the rows ``read_csv`` gives: the same
numbers, raw text, values and problems, whatever the bytes; and plain blocks are really used."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nexo.adapters.readers import RawRow, ReadInfo
from nexo.adapters.readers.csv_blocks import Chunk, PlainBlock, read_blocks, readable
from nexo.adapters.readers.csv_reader import read_csv
from nexo.adapters.spec import CsvFormat, load_mapping, resolve_mapping
from nexo.adapters.workers import _chunks_after

HEADER = ["id", "name", "note"]

# pieces of lines: the ones CSV parsers could read differently come often
PIECES = st.sampled_from(
    [
        "a", "b", "Ñuñoa", "민준", " ", ",", ";", '"', '""', '"x,y"', "\n", "\r", "\r\n",
        "\x00", "\t", "\ufeff", "\\", "\u0085", "\u2028", "😀",
    ]
)  # fmt: skip
LINE = st.lists(PIECES, max_size=8).map("".join)
RAW_BYTES = st.sampled_from([b"\xff", b"\xe2\x82", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\xc3"])


def _rows(chunks: list[Chunk]) -> list[RawRow]:
    out: list[RawRow] = []
    for chunk in chunks:
        out.extend(chunk.rows(list(range(len(chunk)))) if isinstance(chunk, PlainBlock) else chunk)
    return out


def _both(path: Path, fmt: CsvFormat, after: int, size: int) -> tuple[list[RawRow], list[Chunk]]:
    info = ReadInfo()
    want = [r for r in read_csv(path, fmt, [], info) if r.number > after]
    assert info.columns is not None
    return want, list(read_blocks(path, fmt, info.columns, after, size))


def info_columns(path: Path, fmt: CsvFormat) -> list[str]:
    info = ReadInfo()
    next(iter(read_csv(path, fmt, [], info)), None)
    assert info.columns is not None
    return info.columns


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(
        st.one_of(
            st.tuples(st.sampled_from(["P1", "P2", '"P3"', ""]), LINE, LINE).map(",".join),
            LINE,
        ),
        max_size=14,
    ),
    bad=st.lists(st.tuples(st.integers(0, 13), RAW_BYTES), max_size=2),
    after=st.integers(1, 3),
    size=st.integers(1, 4),
    ends=st.booleans(),
    eol=st.sampled_from([b"\n", b"\r\n"]),
    fmt=st.sampled_from(
        [
            CsvFormat(type="csv"),
            CsvFormat(type="csv", delimiter=";"),
            CsvFormat(type="csv", quoting="none"),
            CsvFormat(type="csv", header=False, columns=HEADER),
            CsvFormat(type="csv", max_record_lines=2),
        ]
    ),
)
def test_any_bytes_read_as_read_csv_reads_them(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[str],
    bad: list[tuple[int, bytes]],
    after: int,
    size: int,
    ends: bool,
    eol: bytes,
    fmt: CsvFormat,
) -> None:
    encoded = [line.encode() for line in ["id,name,note", "P0,first,row", *lines]]
    for at, raw in bad:
        if at + 2 < len(encoded):
            encoded[at + 2] += raw
    path = tmp_path_factory.mktemp("blocks") / "in.csv"
    path.write_bytes(eol.join(encoded) + (eol if ends else b""))
    want, chunks = _both(path, fmt, after, size)
    assert _rows(chunks) == want
    assert all(len(c) > 0 for c in chunks)
    for c in chunks:
        event("plain block" if isinstance(c, PlainBlock) else "read_csv's rows")
    # a reader of every n-th chunk, passing over the others, takes the same chunks
    header = info_columns(path, fmt)
    for every in (2, 3):
        for mine in range(every):
            part = list(read_blocks(path, fmt, header, after, size, (mine, every)))
            assert _rows(part) == _rows(chunks[mine::every])


def _plain_file(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write("id,name,note\n")
        for i in range(1, rows + 1):
            f.write(f'P{i},"Rojas, Ana",note {i}\n' if i % 3 == 0 else f"P{i},Ana,\n")


def test_plain_lines_are_read_in_blocks(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    _plain_file(path, 25)
    want, chunks = _both(path, CsvFormat(type="csv"), 4, 10)
    assert [type(c) for c in chunks] == [PlainBlock, PlainBlock, PlainBlock]
    assert [len(c) for c in chunks] == [10, 10, 1]
    assert _rows(chunks) == want
    assert want[0].number == 5 and want[-1].raw == "P25,Ana,\n"
    assert chunks[0].frame["name"].to_list()[1] == "Rojas, Ana"  # row 6, quoted


def test_a_record_over_several_lines_is_read_by_read_csv_then_blocks_resume(
    tmp_path: Path,
) -> None:
    path = tmp_path / "in.csv"
    _plain_file(path, 30)
    text = path.read_text(encoding="utf-8").replace("P13,Ana,", 'P13,"Ana\nMaría",x')
    path.write_text(text.replace("P20,Ana,", "P20,too few"), encoding="utf-8")
    want, chunks = _both(path, CsvFormat(type="csv"), 1, 10)
    assert _rows(chunks) == want
    kinds = [type(c).__name__ for c in chunks]
    assert kinds == ["PlainBlock", "list", "PlainBlock"], kinds  # rows 12-21: a list
    multi = next(r for r in want if r.number == 13)
    assert multi.values["name"] == "Ana\nMaría" and multi.raw == 'P13,"Ana\nMaría",x\n'
    short = next(r for r in want if r.number == 20)
    assert short.problem is not None and short.problem[0] == "field_count"


@pytest.mark.parametrize(
    ("fmt", "header", "ok"),
    [
        (CsvFormat(type="csv"), HEADER, True),
        (CsvFormat(type="csv", delimiter=";", encoding="utf-8-sig"), HEADER, True),
        (CsvFormat(type="csv", encoding="latin-1"), HEADER, False),
        (CsvFormat(type="csv", escapechar="\\"), HEADER, False),
        (CsvFormat(type="csv", delimiter="¦"), HEADER, False),
        (CsvFormat(type="csv"), ["id", "id"], False),
        (CsvFormat(type="csv"), None, False),
    ],
)
def test_which_inputs_can_be_read_in_blocks(
    fmt: CsvFormat, header: list[str] | None, ok: bool
) -> None:
    assert readable(fmt, header) is ok


def test_other_dialects_read_the_same(tmp_path: Path) -> None:
    quoted, literal = tmp_path / "quoted.csv", tmp_path / "literal.csv"
    quoted.write_bytes(
        "\ufeffid;name;note\n".encode()
        + b"".join(f"P{i};'Ana; Luz';n\n".encode() for i in range(1, 8))
        + b"P8;O''Brien;'x'y\n"
    )
    literal.write_bytes(b"id;name;note\n" + b"".join(b'P%d;"Ana";n\n' % i for i in range(8)))
    for path, fmt in (
        (quoted, CsvFormat(type="csv", delimiter=";", quotechar="'", encoding="utf-8-sig")),
        (literal, CsvFormat(type="csv", delimiter=";", quoting="none")),
    ):
        want, chunks = _both(path, fmt, 2, 3)
        assert _rows(chunks) == want
        assert any(isinstance(c, PlainBlock) for c in chunks)
    assert want[0].values["name"] == '"Ana"'


def test_the_read_ahead_process_takes_blocks_only_where_it_can(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    _plain_file(path, 12)
    mapping = load_mapping(resolve_mapping("person-csv"), {"agency": "a", "id_scheme": "cl-run"})
    blocks = list(_chunks_after(mapping, [], path, 2, 5, HEADER))
    assert [type(c) for c in blocks] == [PlainBlock, PlainBlock]
    rows = list(_chunks_after(mapping, [], path, 2, 5, None))  # no header known: the reader
    assert [type(c) for c in rows] == [list, list]
    assert _rows(blocks) == _rows(rows)


def test_crlf_lines_are_read_in_blocks(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    _plain_file(path, 9)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    want, chunks = _both(path, CsvFormat(type="csv"), 1, 4)
    assert [type(c) for c in chunks] == [PlainBlock, PlainBlock]
    assert _rows(chunks) == want
    assert want[0].raw == "P2,Ana,\r\n" and want[0].values["note"] == ""


@pytest.mark.parametrize("header", [False, True])
def test_columns_named_in_the_mapping_read_the_same(tmp_path: Path, header: bool) -> None:
    path = tmp_path / "in.csv"
    _plain_file(path, 12)  # (its first line is data when the mapping names the columns)
    fmt = CsvFormat(type="csv", header=header, columns=["a", "b", "c"])
    want, chunks = _both(path, fmt, 3, 4)
    assert _rows(chunks) == want
    assert want[0].number == 4 and isinstance(chunks[0], PlainBlock)


def test_an_unbalanced_quote_at_a_block_end_loses_no_line(tmp_path: Path) -> None:
    """After a quote still open ``max_record_lines`` lines later, the parser gives the lines
    after its first back: they must be read before blocks resume (hypothesis found this)."""
    path = tmp_path / "in.csv"
    _plain_file(path, 12)
    path.write_text(
        path.read_text(encoding="utf-8").replace("P4,Ana,", 'P4,"open,x'), encoding="utf-8"
    )
    want, chunks = _both(path, CsvFormat(type="csv", max_record_lines=2), 1, 3)
    assert _rows(chunks) == want
    assert [r.number for r in want] == list(range(2, 13))
    assert want[2].problem is not None and want[2].problem[0] == "unbalanced_quote"


def test_lines_with_a_field_too_few_or_too_many_do_not_make_a_plain_block(
    tmp_path: Path,
) -> None:
    """Each line must hold as many fields as the header: a line with a field too few and one
    with a field too many hold the right number together, and still make the block
    read_csv's; so does a quoted line with too few (all three are quarantined there)."""
    path = tmp_path / "in.csv"
    _plain_file(path, 12)
    text = path.read_text(encoding="utf-8").replace("P4,Ana,", "P4,Ana")
    text = text.replace("P5,Ana,", "P5,Ana,,").replace('P9,"Rojas, Ana",note 9', '"P9"')
    path.write_text(text, encoding="utf-8")
    want, chunks = _both(path, CsvFormat(type="csv"), 1, 3)
    assert _rows(chunks) == want
    assert [type(c).__name__ for c in chunks] == ["list", "list", "list", "PlainBlock"]
    problems = {r.number: r.problem[0] for r in want if r.problem}
    assert problems == dict.fromkeys((4, 5, 9), "field_count")
