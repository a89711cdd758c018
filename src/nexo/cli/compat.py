"""Click's exceptions, wherever this version of Typer keeps them."""

from __future__ import annotations

from types import ModuleType

try:  # Typer >= 0.20 vendors its own copy of Click
    from typer._click import exceptions as _exceptions
except ImportError:  # pragma: no cover - older Typer uses Click itself
    from click import exceptions as _exceptions  # type: ignore[no-redef,import-not-found,unused-ignore]

click_exceptions: ModuleType = _exceptions
