"""The employment service's national occupation classification and its crosswalk to ISCO-08.

Like most national classifications (CIUO-08.CL, KldB, KSCO), it refines ISCO-08 unit groups:
each national code is an ISCO-08 unit group followed by one digit of national detail.
"""

from __future__ import annotations

from functools import lru_cache

from nexo.model.isco import unit_groups


@lru_cache(maxsize=1)
def national_codes() -> dict[str, list[tuple[str, str]]]:
    """ISCO-08 unit group → its national codes with titles."""
    table: dict[str, list[tuple[str, str]]] = {}
    for group in unit_groups():
        detail = 1 + int(group.code) % 3
        table[group.code] = [
            (f"{group.code}{k}", group.title if detail == 1 else f"{group.title} ({k})")
            for k in range(1, detail + 1)
        ]
    return table


def crosswalk_rows() -> list[tuple[str, str, str]]:
    """(national code, national title, ISCO-08 code), sorted by national code."""
    rows = [
        (code, title, isco) for isco, codes in national_codes().items() for code, title in codes
    ]
    return sorted(rows)
