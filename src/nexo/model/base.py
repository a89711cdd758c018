"""Base class and shared field types of the canonical model."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from nexo.model.isco import is_isco08


class CanonicalModel(BaseModel):
    """Immutable, strict about unknown fields, and JSON round-trippable."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _check_isco(code: str) -> str:
    if not is_isco08(code):
        raise ValueError(f"{code!r} is not an ISCO-08 code; map it through a crosswalk first")
    return code


IscoCode = Annotated[str, AfterValidator(_check_isco)]
"""An ISCO-08 code of any level (``2`` … ``2512``), leading zeros kept."""

Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
"""A non-negative amount of money with at most two decimals."""

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
"""ISO 4217 currency code."""

AdminAreaCode = Annotated[str, Field(min_length=1, max_length=32)]
"""Code of the smallest administrative area known (commune, district, Gemeinde)."""
