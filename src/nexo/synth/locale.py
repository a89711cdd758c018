"""Per-locale facts of the synthetic country: names, places, identifiers, money, programmes.

Name and place lists come from Faker's locale providers (es_CL, de_DE, ko_KR); the rest are
synthetic but shaped like the real thing (RUN with its mod-11 check digit, RRN, Steuer-ID).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate

from faker.providers.address import de_DE as de_address
from faker.providers.address import es_CL as cl_address
from faker.providers.address import ko_KR as kr_address
from faker.providers.person import de_DE as de_person
from faker.providers.person import es_CL as cl_person
from faker.providers.person import ko_KR as kr_person

from nexo.model.identifier import (
    IdentifierScheme,
    iso7064_mod11_10_check_digit,
    rrn_check_digit,
    run_check_digit,
)

LOCALES = ("cl", "de", "kr")


@dataclass(frozen=True)
class Pool:
    """Values with cumulative weights, for fast weighted draws."""

    values: tuple[str, ...]
    cum_weights: tuple[float, ...]

    @classmethod
    def weighted(cls, items: dict[str, float] | list[tuple[str, float]]) -> Pool:
        pairs = list(items.items()) if isinstance(items, dict) else list(items)
        return cls(tuple(v for v, _ in pairs), tuple(accumulate(float(w) for _, w in pairs)))

    @classmethod
    def zipf(cls, values: tuple[str, ...] | list[str], seed: int = 0, s: float = 1.0) -> Pool:
        """Give an unweighted list a realistic skew: a fixed shuffle, then Zipf-like weights."""
        order = list(dict.fromkeys(values))
        random.Random(seed).shuffle(order)
        return cls.weighted([(v, 1.0 / (rank + 8) ** s) for rank, v in enumerate(order)])

    def draw(self, rng: random.Random) -> str:
        return rng.choices(self.values, cum_weights=self.cum_weights)[0]


@dataclass(frozen=True)
class Place:
    locality: str
    region: str
    admin_area_code: str
    postcode_prefix: str


@dataclass(frozen=True)
class Programme:
    code: str
    name: str
    means_tested: bool
    monthly_amount: int  # in the locale's currency, whole units
    target: str  # working_age | children | old_age


@dataclass(frozen=True)
class LocaleData:
    code: str
    country: str
    currency: str
    encoding: str  # legacy files' encoding
    two_family_names: bool
    male_names: Pool
    female_names: Pool
    family_names: Pool
    second_given_name_rate: float
    places: Pool  # of place keys
    place_by_key: dict[str, Place]
    streets: Pool
    nicknames: dict[str, str]
    programmes: tuple[Programme, ...]
    wage_median: int
    wage_decimals: int
    id_scheme: IdentifierScheme
    employer_stems: tuple[str, ...]
    employer_forms: tuple[str, ...]
    email_domains: tuple[str, ...] = field(default=("mail.example", "correo.example"))

    def programme(self, target: str) -> Programme:
        return next(p for p in self.programmes if p.target == target)


# ---------------------------------------------------------------- identifiers


def make_run(body: int) -> str:
    """Normalised RUN (no dots, no dash) for a numeric body."""
    text = str(body)
    return text + run_check_digit(text)


def make_rrn(birth: date, female: bool, rng: random.Random) -> str:
    sex_digit = (3 if birth.year >= 2000 else 1) + (1 if female else 0)
    region = rng.randrange(0, 9600)
    serial = rng.randrange(0, 10)
    first12 = f"{birth:%y%m%d}{sex_digit}{region:04d}{serial}"
    return first12 + rrn_check_digit(first12)


def make_steuer_id(rng: random.Random) -> str:
    """11 digits: first not 0; in the first ten exactly one digit appears twice; check digit."""
    digits = rng.sample(range(10), 9)
    while digits[0] == 0:
        rng.shuffle(digits)
    doubled = digits[rng.randrange(9)]
    pos = rng.randrange(1, 10)
    ten = digits[:pos] + [doubled] + digits[pos:]
    if ten[0] == 0:
        ten[0], ten[1] = ten[1], ten[0]
    body = "".join(map(str, ten))
    return body + iso7064_mod11_10_check_digit(body)


# ---------------------------------------------------------------- Chile

_CL_REGIONS = {
    1: "Tarapacá",
    2: "Antofagasta",
    3: "Atacama",
    4: "Coquimbo",
    5: "Valparaíso",
    6: "O'Higgins",
    7: "Maule",
    8: "Biobío",
    9: "La Araucanía",
    10: "Los Lagos",
    11: "Aysén",
    12: "Magallanes",
    13: "Metropolitana de Santiago",
    14: "Los Ríos",
    15: "Arica y Parinacota",
    16: "Ñuble",
}


def _chile() -> LocaleData:
    person, address = cl_person.Provider, cl_address.Provider
    places: dict[str, Place] = {}
    weights: list[tuple[str, float]] = []
    for code, name in address.communes.items():
        region = int(code[:-3])
        places[code] = Place(name, _CL_REGIONS.get(region, "Desconocida"), code, f"{region:02d}")
        weights.append((code, 6.0 if region == 13 else 1.0))
    streets = [
        (f"{prefix} {name}", pw * nw)
        for prefix, pw in address.street_prefixes.items()
        for name, nw in address.common_street_names.items()
    ] + [
        (f"Calle {name[0] if isinstance(name, tuple) else name}", 0.02)
        for name in address.historic_people_street_names
    ]
    return LocaleData(
        code="cl",
        country="CL",
        currency="CLP",
        encoding="latin-1",
        two_family_names=True,
        male_names=Pool.weighted(person.first_names_male),
        female_names=Pool.weighted(person.first_names_female),
        family_names=Pool.weighted(person.last_names),
        second_given_name_rate=0.6,
        places=Pool.weighted(weights),
        place_by_key=places,
        streets=Pool.weighted(streets),
        nicknames={
            "Francisco": "Pancho",
            "José": "Pepe",
            "Ignacio": "Nacho",
            "Guillermo": "Memo",
            "Jesús": "Chucho",
            "Dolores": "Lola",
            "Manuel": "Manolo",
            "Rosario": "Charo",
            "Antonio": "Toño",
            "Gonzalo": "Chalo",
            "Eduardo": "Lalo",
            "Fernando": "Nano",
            "Consuelo": "Chelo",
            "Enrique": "Quique",
            "Alejandro": "Alejo",
            "Rodrigo": "Rorro",
            "Roberto": "Beto",
            "Alberto": "Beto",
            "Carolina": "Carola",
            "Patricia": "Paty",
            "Isabel": "Chabela",
            "Luis": "Lucho",
            "Javiera": "Javi",
            "Catalina": "Cata",
            "Valentina": "Vale",
            "Josefa": "Jose",
            "Margarita": "Maggie",
            "Teresa": "Tere",
        },
        programmes=(
            Programme("IEF", "Ingreso Ético Familiar", True, 52000, "working_age"),
            Programme("SUF", "Subsidio Único Familiar", True, 21243, "children"),
            Programme("PGU", "Pensión Garantizada Universal", False, 214296, "old_age"),
        ),
        wage_median=750000,
        wage_decimals=0,
        id_scheme=IdentifierScheme.CL_RUN,
        employer_stems=(
            "Comercial",
            "Constructora",
            "Agrícola",
            "Servicios",
            "Transportes",
            "Inversiones",
            "Alimentos",
            "Minera",
            "Distribuidora",
            "Clínica",
        ),
        employer_forms=("SpA", "Ltda.", "S.A.", "EIRL"),
        email_domains=("correo.example", "mail.example", "gmail.example"),
    )


# ---------------------------------------------------------------- Germany

_DE_STATE_CODES = {
    "Schleswig-Holstein": "01",
    "Hamburg": "02",
    "Niedersachsen": "03",
    "Bremen": "04",
    "Nordrhein-Westfalen": "05",
    "Hessen": "06",
    "Rheinland-Pfalz": "07",
    "Baden-Württemberg": "08",
    "Bayern": "09",
    "Saarland": "10",
    "Berlin": "11",
    "Brandenburg": "12",
    "Mecklenburg-Vorpommern": "13",
    "Sachsen": "14",
    "Sachsen-Anhalt": "15",
    "Thüringen": "16",
}

_DE_STREET_ROOTS = (
    "Haupt",
    "Bahnhof",
    "Schul",
    "Garten",
    "Berg",
    "Kirch",
    "Dorf",
    "Wald",
    "Linden",
    "Birken",
    "Mühlen",
    "Feld",
    "Wiesen",
    "Rosen",
    "Sonnen",
    "Goethe",
    "Schiller",
    "Beethoven",
    "Post",
    "Friedhof",
    "Industrie",
    "Markt",
    "Tal",
    "Eichen",
    "Ahorn",
    "Kastanien",
    "Brunnen",
)


def _germany() -> LocaleData:
    person, address = de_person.Provider, de_address.Provider
    states = [s for s in address.states if s in _DE_STATE_CODES]
    places: dict[str, Place] = {}
    for i, city in enumerate(sorted(set(address.cities))):
        state = states[(i * 7) % len(states)]
        code = f"{_DE_STATE_CODES[state]}{i:06d}"
        places[code] = Place(city, state, code, f"{(i * 241) % 90 + 10:02d}")
    suffixes = ("straße", "weg", "allee", "ring", "gasse")
    streets = [(f"{r}{s}", 1.0 / (1 + j)) for r in _DE_STREET_ROOTS for j, s in enumerate(suffixes)]
    return LocaleData(
        code="de",
        country="DE",
        currency="EUR",
        encoding="latin-1",
        two_family_names=False,
        male_names=Pool.zipf(person.first_names_male, seed=1),
        female_names=Pool.zipf(person.first_names_female, seed=2),
        family_names=Pool.zipf(person.last_names, seed=3),
        second_given_name_rate=0.15,
        places=Pool.zipf(tuple(places), seed=4, s=0.8),
        place_by_key=places,
        streets=Pool.weighted(streets),
        nicknames={
            "Johannes": "Hans",
            "Alexander": "Alex",
            "Katharina": "Kathi",
            "Elisabeth": "Lisa",
            "Margarete": "Grete",
            "Friedrich": "Fritz",
            "Wilhelm": "Willi",
            "Thomas": "Tom",
            "Michael": "Micha",
            "Christian": "Chris",
            "Susanne": "Susi",
            "Stefanie": "Steffi",
            "Andreas": "Andi",
            "Matthias": "Matze",
            "Daniel": "Dani",
            "Benjamin": "Ben",
            "Maximilian": "Max",
            "Josef": "Sepp",
            "Franziska": "Franzi",
            "Gabriele": "Gabi",
            "Christine": "Tina",
            "Barbara": "Babsi",
            "Nikolaus": "Klaus",
            "Jakob": "Jockel",
            "Heinrich": "Heinz",
            "Wolfgang": "Wolf",
            "Sebastian": "Basti",
            "Tobias": "Tobi",
        },
        programmes=(
            Programme("BG", "Bürgergeld", True, 563, "working_age"),
            Programme("KIZ", "Kinderzuschlag", True, 292, "children"),
            Programme("GRU", "Grundsicherung im Alter", True, 563, "old_age"),
        ),
        wage_median=3400,
        wage_decimals=2,
        id_scheme=IdentifierScheme.DE_STEUER_ID,
        employer_stems=(
            "Bäckerei",
            "Bau",
            "Logistik",
            "Pflegedienst",
            "Elektro",
            "Autohaus",
            "Metallbau",
            "Gastronomie",
            "Handel",
            "Reinigung",
        ),
        employer_forms=("GmbH", "GmbH & Co. KG", "AG", "e.K."),
        email_domains=("post.example", "mail.example", "web.example"),
    )


# ---------------------------------------------------------------- South Korea


def _korea() -> LocaleData:
    person, address = kr_person.Provider, kr_address.Provider
    places: dict[str, Place] = {}
    regions = list(address.metropolitan_cities) + list(address.provinces)
    for i, region in enumerate(regions):
        for j, borough in enumerate(address.boroughs):
            if (i * 31 + j) % 3:  # not every borough in every region
                continue
            code = f"{11 + i:02d}{j * 10 + 110:03d}00000"
            places[code] = Place(borough, region, code, f"{(i * 3 + j) % 63 + 1:02d}")
    streets = [(f"{r}{s}", 1.0) for r in address.road_names for s in address.road_suffixes]
    return LocaleData(
        code="kr",
        country="KR",
        currency="KRW",
        encoding="cp949",
        two_family_names=False,
        male_names=Pool.weighted({k: float(v) for k, v in person.first_names_male.items()}),
        female_names=Pool.weighted({k: float(v) for k, v in person.first_names_female.items()}),
        family_names=Pool.weighted({k: float(v) for k, v in person.last_names.items()}),
        second_given_name_rate=0.0,
        places=Pool.zipf(tuple(places), seed=5, s=0.7),
        place_by_key=places,
        streets=Pool.weighted(streets),
        nicknames={},
        programmes=(
            Programme("NBLSS", "국민기초생활보장 생계급여", True, 713102, "working_age"),
            Programme("CHILD", "아동수당", False, 100000, "children"),
            Programme("BOAP", "기초연금", True, 334810, "old_age"),
        ),
        wage_median=3100000,
        wage_decimals=0,
        id_scheme=IdentifierScheme.KR_RRN,
        employer_stems=(
            "한빛",
            "대한",
            "미래",
            "동방",
            "새한",
            "우리",
            "한국",
            "세종",
            "삼진",
            "태양",
        ),
        employer_forms=("주식회사", "유한회사", "상사", "산업"),
        email_domains=("mail.example", "post.example", "web.example"),
    )


_BUILDERS = {"cl": _chile, "de": _germany, "kr": _korea}
_CACHE: dict[str, LocaleData] = {}


def locale_data(code: str) -> LocaleData:
    if code not in _BUILDERS:
        raise KeyError(code)
    if code not in _CACHE:
        _CACHE[code] = _BUILDERS[code]()
    return _CACHE[code]


def mapping_params(code: str) -> dict[str, dict[str, str]]:
    """Parameters of the example mappings for this locale's synthetic files, per mapping name."""
    loc = locale_data(code)
    decimal, thousands = {"cl": (",", "."), "de": (",", "."), "kr": (".", ",")}[code]
    scheme = loc.id_scheme.value
    return {
        "employment-jobseekers": {"encoding": loc.encoding, "id_scheme": scheme},
        "employment-episodes": {
            "encoding": loc.encoding,
            "decimal": decimal,
            "thousands": thousands,
            "currency": loc.currency,
        },
        "employment-programmes": {"encoding": loc.encoding},
        "social-beneficiaries": {"encoding": loc.encoding, "id_scheme": scheme},
        "social-benefit-events": {},
    }
