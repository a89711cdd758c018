"""``nexo demo``: a synthetic country, end to end, on embedded defaults."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from nexo.adapters.service import BatchReport, Progress, ingest_file
from nexo.adapters.spec import load_mapping
from nexo.linkage.service import LinkSummary, run_linkage
from nexo.quality.service import QualityOverview, run_default_quality
from nexo.store.engine import transaction
from nexo.store.repository import RecordRepository
from nexo.synth.domain import SynthConfig
from nexo.synth.locale import mapping_params
from nexo.synth.service import Progress as SynthProgress
from nexo.synth.service import generate

#: example mapping → file of the synthetic country it reads
DEMO_INPUTS = {
    "social-beneficiaries": "social/beneficiaries.dat",
    "social-benefit-events": "social/benefit_events.xml",
    "employment-jobseekers": "employment/jobseekers.csv",
    "employment-episodes": "employment/episodes.csv",
    "employment-programmes": "employment/programmes.csv",
}


def example_mapping(name: str) -> Path:
    path = resources.files("nexo.mappings") / "examples" / f"{name}.yaml"
    return Path(str(path))


@dataclass
class DemoSummary:
    data_dir: Path
    database_url: str
    reused_data: bool
    synth_counts: dict[str, int]
    batches: list[BatchReport] = field(default_factory=list)
    records: dict[tuple[str, str, str], int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    linkage: LinkSummary | None = None
    quality: QualityOverview | None = None

    @property
    def quarantined_by_reason(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for b in self.batches:
            for reason, n in b.quarantined_by_reason.items():
                out[reason] = out.get(reason, 0) + n
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def synthetic_country(
    config: SynthConfig, home: Path, progress: SynthProgress | None = None
) -> tuple[Path, bool, dict[str, int]]:
    """Make (or reuse, when the same config made it before) the demo's synthetic country."""
    folder = home / "demo" / f"{config.locale}-{config.persons}-seed{config.seed}"
    manifest = folder / "manifest.json"
    if manifest.is_file():
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
        if recorded.get("config") == config.model_dump(mode="json"):
            return folder, True, dict(recorded.get("counts", {}))
    result = generate(config, folder, force=True, progress=progress)
    return folder, False, result.counts


def run_demo(
    factory: sessionmaker[Session],
    *,
    config: SynthConfig,
    home: Path,
    database_url: str,
    synth_progress: SynthProgress | None = None,
    ingest_progress: Callable[[str], Progress] | None = None,
) -> DemoSummary:
    t0 = time.perf_counter()
    folder, reused, counts = synthetic_country(config, home, synth_progress)
    summary = DemoSummary(folder, database_url, reused, counts)
    summary.timings["synthetic country"] = time.perf_counter() - t0
    params = mapping_params(config.locale)
    t1 = time.perf_counter()
    for name, rel in DEMO_INPUTS.items():
        mapping = load_mapping(example_mapping(name), params[name])
        progress = ingest_progress(name) if ingest_progress else None
        summary.batches.append(ingest_file(factory, mapping, folder / rel, progress=progress))
    summary.timings["ingest"] = time.perf_counter() - t1
    with transaction(factory) as s:
        summary.records = RecordRepository(s).count_current()
    t2 = time.perf_counter()
    summary.linkage = run_linkage(factory, truth=folder / "truth" / "persons.csv")
    summary.timings["linkage"] = time.perf_counter() - t2
    t2 = time.perf_counter()
    summary.quality = run_default_quality(
        factory, report_dir=home / "reports", reference_date=config.as_of
    )
    summary.timings["quality"] = time.perf_counter() - t2
    summary.timings["total"] = time.perf_counter() - t0
    return summary
