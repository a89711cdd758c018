"""A small town of hand-made person records for the linkage tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from nexo.config import LinkageSettings
from nexo.model import Person
from nexo.model.identifier import IdentifierScheme
from nexo.synth.locale import make_run

Put = Callable[..., None]
AT = datetime(2026, 6, 1, tzinfo=UTC)

#: fast settings for tests (small u sample); thresholds as in production
FAST = LinkageSettings(u_max_pairs=2e5, em_max_pairs=2e5)


def run_id(body: int) -> str:
    """A valid Chilean RUN (check digit right) for a number."""
    return make_run(body)


def person(
    given: str,
    family: str,
    second: str | None,
    born: date | None,
    sex: str | None = None,
    *,
    nid: str | None = None,
    verified: bool = False,
    phone: str | None = None,
    address: str | None = None,
    area: str | None = None,
) -> Person:
    data: dict[str, Any] = {
        "given_names": given,
        "family_name": family,
        "second_family_name": second,
        "birth_date": born,
        "sex": sex,
    }
    if nid:
        data["identifiers"] = [
            {"scheme": IdentifierScheme.CL_RUN.value, "value": nid, "verified": verified}
        ]
    if phone:
        data["contact"] = {"phone": phone}
    if address:
        data["address"] = {"line": address, "admin_area_code": area}
    return Person.model_validate(data)


#: The Vera household at one address: a father and his son with the same first given name,
#: twin daughters, plus two unrelated persons with common names.
TOWN: list[tuple[str, str, str, Person]] = [
    ("social", "beneficiaries", "B1", person(
        "Miguel Ricardo", "Vera", "Cortés", date(1978, 2, 3), "male",
        nid=run_id(19009957), verified=True, phone="+56 9 2917 0955",
        address="Calle Pedro Montt 1831", area="05101")),
    ("social", "beneficiaries", "B2", person(
        "Miguel José", "Vera", "Soto", date(2003, 4, 15), "male",
        nid=run_id(26089769), verified=True, phone="+56 9 2628 3233",
        address="Calle Pedro Montt 1831", area="05101")),
    ("social", "beneficiaries", "B3", person(
        "Ana María", "Vera", "Soto", date(2010, 5, 6), "female",
        nid=run_id(27112233), verified=True, address="Calle Pedro Montt 1831", area="05101")),
    ("social", "beneficiaries", "B4", person(
        "Sofía", "Vera", "Soto", date(2010, 5, 6), "female",
        address="Calle Pedro Montt 1831", area="05101")),
    ("employment", "jobseekers", "E1", person(
        "Miguel Ricardo", "Vera", "Cortés", date(1978, 2, 3), "male",
        nid=run_id(19009957), phone="+56 9 2917 0955", address="Calle Pedro Montt 1831",
        area="05101")),
    ("employment", "jobseekers", "E2", person(  # given and family names swapped, no id
        "Vera", "Miguel José", "Soto", date(2003, 4, 15), "male",
        phone="+56 9 2628 3233", address="Calle Pedro Montt 1831", area="05101")),
    ("employment", "jobseekers", "E3", person(
        "Camila Andrea", "González", "Muñoz", date(1990, 3, 8), "female",
        nid=run_id(17554321), verified=True, phone="+56 9 5555 0101",
        address="Avenida Brasil 120", area="05101")),
    ("social", "beneficiaries", "B5", person(  # day and month transposed, id missing
        "Camila Andrea", "González", "Muñoz", date(1990, 8, 3), "female",
        phone="+56 9 5555 0101", address="Av. Brasil 120", area="05101")),
    ("employment", "jobseekers", "E4", person(
        "José Luis", "Rojas", "Pérez", date(1985, 7, 9), "male",
        nid=run_id(15998877), address="Pasaje Los Olmos 45", area="13101")),
]  # fmt: skip
