"""Make a synthetic country: ``generate(config, out)``."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexo import __version__
from nexo.errors import UsageError
from nexo.synth.agencies import build_employment, build_social
from nexo.synth.corrupt import Corrupter
from nexo.synth.domain import ErrorClass, SynthConfig, TrueHousehold, TruePerson
from nexo.synth.life import Life, LifeSimulator
from nexo.synth.locale import locale_data
from nexo.synth.population import build_population
from nexo.synth.writers import write_employment, write_social, write_truth

Progress = Callable[[str, float], None]
"""Called with a stage name and the fraction of the whole job done (0..1)."""


@dataclass(frozen=True)
class SynthResult:
    out: Path
    counts: dict[str, int]
    errors_by_class: dict[str, int]


def _stream(config: SynthConfig, name: str) -> random.Random:
    """An independent, reproducible random stream per stage."""
    return random.Random(f"nexo-synth:{config.seed}:{config.locale}:{name}")


def _prepare_out(out: Path, force: bool) -> Path:
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file", hint="give a folder path")
    if out.exists() and any(out.iterdir()) and not force:
        raise UsageError(f"--out {out} is not empty", hint="choose an empty folder or add --force")
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    except OSError as e:
        raise UsageError(
            f"cannot write to {parent}: {e.strerror}", hint="choose a folder you can write to"
        ) from e


def generate(
    config: SynthConfig, out: Path, *, force: bool = False, progress: Progress | None = None
) -> SynthResult:
    """Write both agencies' registries and the ground truth to ``out``, atomically.

    The files are written to a temporary sibling folder that replaces ``out`` only when complete,
    so a failure leaves nothing half-written.
    """
    tick = progress or (lambda _stage, _done: None)
    tmp = _prepare_out(out, force)
    try:
        counts, by_class = _generate_into(config, tmp, tick)
        _write_manifest(config, tmp, counts, by_class)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    tick("done", 1.0)
    return SynthResult(out.resolve(), counts, by_class)


def _generate_into(
    config: SynthConfig, folder: Path, tick: Progress
) -> tuple[dict[str, int], dict[str, int]]:
    loc = locale_data(config.locale)
    tick("population", 0.0)
    pop = build_population(loc, _stream(config, "population"), config.as_of, config.persons)
    tick("life events", 0.25)
    sim = LifeSimulator(loc, _stream(config, "life"), config.as_of, config.years, config.overlap)
    job_seekers: list[tuple[TruePerson, TrueHousehold, Life]] = []
    total = len(pop.households)
    for i, hh in enumerate(pop.households):
        members = [pop.persons[pid - 1] for pid in hh.members]
        for person in members:
            if sim.age(person) >= 18:
                life, _ = sim.live(person, hh)
                if life.registrations:
                    job_seekers.append((person, hh, life))
        sim.household_benefits(hh, members)
        if i % 20000 == 0:
            tick("life events", 0.25 + 0.35 * i / total)
    tick("agency records", 0.6)
    corrupter = Corrupter(config, loc, _stream(config, "errors"))
    employment = build_employment(job_seekers, corrupter, config.as_of)
    social = build_social(pop.households, pop.persons, sim.enrolments, corrupter, config.as_of)
    tick("writing files", 0.75)
    counts = write_employment(employment, loc, folder / "employment")
    counts |= write_social(social, loc, folder / "social")
    counts |= write_truth(
        folder / "truth",
        pop.persons,
        [*employment.jobseekers, *social.beneficiaries],
        corrupter.log,
    )
    counts["persons"], counts["households"] = len(pop.persons), len(pop.households)
    by_class = {e.value: 0 for e in ErrorClass}
    for entry in corrupter.log:
        by_class[entry.error.value] += 1
    return counts, by_class


def _write_manifest(
    config: SynthConfig, folder: Path, counts: dict[str, int], by_class: dict[str, int]
) -> None:
    files: dict[str, Any] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        files[path.relative_to(folder).as_posix()] = {
            "sha256": digest,
            "bytes": path.stat().st_size,
        }
    manifest = {
        "generator": f"nexo {__version__}",
        "config": config.model_dump(mode="json"),
        "encoding": {
            "employment": locale_data(config.locale).encoding,
            "social": {
                "beneficiaries.dat": locale_data(config.locale).encoding,
                "benefit_events.xml": "utf-8",
            },
        },
        "counts": counts,
        "errors_by_class": by_class,
        "files": files,
    }
    (folder / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
