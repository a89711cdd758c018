"""Test support: run the ``nexo`` command as a user does, in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def nexo(
    *args: str, home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``nexo ARGS`` with ``NEXO_HOME=home``, none of the caller's other ``NEXO_`` settings
    (``env`` adds some), a wide terminal and no input; never raises on a failure exit."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEXO_")}
    environ |= {"NEXO_HOME": str(home), "COLUMNS": "250", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "nexo", *args],
        capture_output=True,
        text=True,
        env=environ,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )
