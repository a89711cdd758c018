"""Benchmark: time and peak memory of `nexo synth` for 1,000,000 persons (target ≤ 5 min).

Run: python bench/synth.py [--persons N] [--locale cl|de|kr] [--seed S]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from nexo.synth.domain import SynthConfig
from nexo.synth.service import generate

TARGET_S = 300.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--locale", default="cl")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="write here and keep the files")
    args = parser.parse_args()
    out = args.keep or Path(tempfile.mkdtemp(prefix="nexo-bench-synth-")) / "country"
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    last = [t0, "start"]

    def progress(stage: str, done: float) -> None:
        if stage != last[1]:
            now = time.perf_counter()
            stages[str(last[1])] = now - float(last[0])
            last[:] = [now, stage]

    result = generate(
        SynthConfig(persons=args.persons, seed=args.seed, locale=args.locale),
        out,
        force=True,
        progress=progress,
    )
    elapsed = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size_mib = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
    print(f"synth: {args.persons:,} persons, locale {args.locale}, seed {args.seed}")
    for stage, seconds in stages.items():
        if stage != "start":
            print(f"  stage {stage:<16} {seconds:8.1f} s")
    print(f"  wall time        {elapsed:8.1f} s   (target ≤ {TARGET_S:.0f} s)")
    print(f"  peak memory      {peak_mib:8.0f} MiB")
    print(f"  output           {size_mib:8.0f} MiB in {len(result.counts)} counts")
    for key, value in result.counts.items():
        print(f"    {key:<16} {value:>12,}")
    print(f"  persons/s        {args.persons / elapsed:8,.0f}")
    print("  RESULT", "PASS" if elapsed <= TARGET_S else "FAIL")
    if not args.keep:
        shutil.rmtree(out.parent, ignore_errors=True)
    return 0 if elapsed <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
