"""Normalising names, addresses and contact details for comparison, and a phonetic key.

Pure functions with small caches: names repeat a lot (a country has a few thousand given and
family names), so each distinct value is normalised once.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

_OCR_DIGITS = str.maketrans({"0": "o", "1": "l", "5": "s", "8": "b", "3": "e", "4": "a"})
_NOT_LETTER = re.compile(r"[^a-z\s]")
_NOT_ALNUM = re.compile(r"[^a-z0-9\s]")
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\D")

#: address words written in several ways (lower-case, accents stripped)
ADDRESS_WORDS = {
    "av": "avenida",
    "avda": "avenida",
    "avd": "avenida",
    "psje": "pasaje",
    "pje": "pasaje",
    "pasj": "pasaje",
    "dpto": "depto",
    "dep": "depto",
    "departamento": "depto",
    "str": "strasse",
    "strasse": "strasse",
    "pl": "platz",
    "c": "calle",
    "cl": "calle",
}


#: every combining mark (accents, diaeresis, tilde...), for str.translate
_COMBINING = {cp: None for cp in range(0x300, 0x20000) if unicodedata.combining(chr(cp))}


def fold(text: str) -> str:
    """Lower-case, accents stripped (``Muñoz`` → ``munoz``); other scripts kept."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text).translate(_COMBINING)
    return decomposed.replace("ß", "ss").lower()


@lru_cache(maxsize=200_000)
def name(text: str | None) -> str | None:
    """A name for comparison: folded, OCR digits read as letters, punctuation removed.

    Digits in a name are scanning artefacts (``0`` for ``o``, ``1`` for ``l``), never data.
    Names in scripts other than Latin (Hangul) are kept as written, without spaces.
    """
    if not text:
        return None
    folded = fold(text).translate(_OCR_DIGITS).replace("-", " ")
    if folded.isascii():
        folded = _NOT_LETTER.sub(" ", folded)
    else:
        folded = "".join(c for c in folded if c.isalpha() or c.isspace())
    out = _SPACES.sub(" ", folded).strip()
    return out or None


def first_token(text: str | None) -> str | None:
    return text.split(" ", 1)[0] if text else None


_PHONETIC_RULES: tuple[tuple[str, str], ...] = (
    ("sch", "x"),
    ("ch", "x"),
    ("sh", "x"),
    ("ll", "y"),
    ("qu", "k"),
    ("gue", "ge"),
    ("gui", "gi"),
    ("ph", "f"),
    ("th", "t"),
    ("ck", "k"),
    ("tz", "s"),
    ("ce", "se"),
    ("ci", "si"),
    ("ge", "je"),
    ("gi", "ji"),
)
_PHONETIC_LETTERS = str.maketrans(
    {"c": "k", "q": "k", "z": "s", "v": "b", "w": "b", "j": "h", "x": "x", "y": "i"}
)
_VOWELS = set("aeiou")


@lru_cache(maxsize=200_000)
def phonetic(word: str | None) -> str | None:
    """A phonetic key for Spanish and German names (``Jiménez``/``Giménez``, ``Vásquez``/
    ``Vasques`` agree): sound-alike spellings folded, then the first letter and the consonant
    skeleton without repeats. Non-Latin names are returned as they are."""
    if not word:
        return None
    w = word.replace(" ", "")
    if not w.isascii():
        return w
    for a, b in _PHONETIC_RULES:
        w = w.replace(a, b)
    w = w.translate(_PHONETIC_LETTERS).replace("h", "")
    if not w:
        return None
    head, tail = w[0], w[1:]
    skeleton = [c for c in tail if c not in _VOWELS]
    out = [head]
    for c in skeleton:
        if c != out[-1]:
            out.append(c)
    return "".join(out)


@lru_cache(maxsize=100_000)
def _address_word(word: str) -> str:
    return ADDRESS_WORDS.get(word, word)


def address(text: str | None) -> str | None:
    """An address line for comparison: folded, punctuation removed, common words spelled one
    way (``Psje.`` → ``pasaje``, ``Av.`` → ``avenida``)."""
    if not text:
        return None
    folded = fold(text)
    if folded.isascii():
        folded = _NOT_ALNUM.sub(" ", folded)
    words = [_address_word(w) for w in folded.split()]
    return " ".join(words) or None


def phone(text: str | None) -> str | None:
    """The last eight digits: country and trunk prefixes written or not, the same number."""
    if not text:
        return None
    digits = _DIGITS.sub("", text)
    return digits[-8:] if len(digits) >= 6 else None


def email(text: str | None) -> str | None:
    return text.strip().lower() or None if text else None


def transposed(d: date | None) -> str | None:
    """The date with day and month swapped (ISO), when that is a date at all."""
    if d is None or d.day > 12 or d.day == d.month:
        return None
    return date(d.year, d.day, d.month).isoformat()


def transposed_iso(iso: str | None) -> str | None:
    return transposed(date.fromisoformat(iso)) if iso else None


def sex(value: str | None) -> str | None:
    """Only female and male are compared; other and unknown say nothing."""
    return value if value in ("female", "male") else None
