"""The worked examples of docs/mapping.md are valid mappings, and those that show an input
ingest it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from nexo.adapters.mapper import RowMapper
from nexo.adapters.service import ingest_file
from nexo.adapters.spec import load_mapping

DOC = Path(__file__).resolve().parents[2] / "docs" / "mapping.md"
SECTION = DOC.read_text(encoding="utf-8").split("## Worked examples", 1)[1].split("\n## ", 1)[0]
EXAMPLES = {
    title.strip(): re.findall(r"```(\w+)\n(.*?)```", body, flags=re.S)
    for title, body in (part.split("\n", 1) for part in SECTION.split("\n### ")[1:])
}
SUFFIX = {"text": ".csv", "xml": ".xml", "json": ".json"}


def test_there_is_an_example_per_format() -> None:
    formats = set()
    for blocks in EXAMPLES.values():
        mapping = next(body for lang, body in blocks if lang == "yaml")
        formats.add(re.search(r"type: (\w+)", mapping).group(1))  # type: ignore[union-attr]
    assert formats == {"csv", "fixed_width", "xml", "json", "ndjson", "xlsx", "parquet", "sql"}


@pytest.mark.parametrize("title", list(EXAMPLES))
def test_example(title: str, tmp_path: Path, factory: sessionmaker[Session]) -> None:
    blocks = EXAMPLES[title]
    spec = next(body for lang, body in blocks if lang == "yaml")
    path = tmp_path / "mapping.yaml"
    path.write_text(spec, encoding="utf-8")
    mapping = load_mapping(path)  # every problem would be reported here
    RowMapper(mapping)
    samples = [(lang, body) for lang, body in blocks if lang in SUFFIX]
    if not samples:
        return
    lang, body = samples[0]
    if mapping.spec.format.type == "ndjson":
        lang = "ndjson"
    data = tmp_path / f"input{SUFFIX.get(lang, '.ndjson')}"
    data.write_bytes(body.encode(mapping.spec.format.encoding))
    report = ingest_file(factory, mapping, data)
    assert report.rows_read >= 1
    assert report.quarantined == 0, report.quarantined_by_reason
