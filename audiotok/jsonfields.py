"""Checking a JSON object against the fields of a dataclass before building it.

Configs users hand over (vocoder and hybrid codec folders) are JSON; a dataclass built from
them unchecked fails deep inside torch with a TypeError, or allocates whatever a size field
says. :func:`check_fields` refuses a value of the wrong JSON type with one line naming the
field. Annotations are read as strings (modules use postponed evaluation); integers are
sizes, counts or rates: ``0 <= n < 2**31``.
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, fields
from typing import Any

from audiotok.errors import AudiotokError

INT_LIMIT = 1 << 31
_WORDS = {
    "int": "an integer in 0..2^31",
    "float": "a finite number",
    "bool": "true or false",
    "str": "a string",
    "list[int]": "a list of integers",
    "tuple[int, ...]": "a list of integers",
    "tuple[tuple[int, ...], ...]": "a list of lists of integers",
    "list[str]": "a list of strings",
    "dict[str, Any]": "an object",
    "dict[str, Any] | None": "an object or null",
}


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < INT_LIMIT


def of_type(v: Any, t: str) -> bool:
    """Whether the JSON value ``v`` fits the annotation ``t`` (one of ``_WORDS``)."""
    if t == "int":
        return _int(v)
    if t == "float":
        return (_int(v) or isinstance(v, float)) and math.isfinite(v)
    if t == "bool":
        return isinstance(v, bool)
    if t == "str":
        return isinstance(v, str)
    if t in ("list[int]", "tuple[int, ...]"):
        return isinstance(v, list) and all(_int(x) for x in v)
    if t == "tuple[tuple[int, ...], ...]":
        return isinstance(v, list) and all(of_type(x, "tuple[int, ...]") for x in v)
    if t == "list[str]":
        return isinstance(v, list) and all(isinstance(x, str) for x in v)
    if t.startswith("dict"):
        return isinstance(v, dict) or (v is None and t.endswith("None"))
    raise AssertionError(f"no JSON check for the field type {t}")


def check_fields(cls: type, d: dict[str, Any], what: str) -> None:
    """AudiotokError naming the first field of ``d`` whose value does not fit ``cls``, or a
    field without a default that ``d`` lacks."""
    for f in fields(cls):
        if f.name not in d and f.default is MISSING and f.default_factory is MISSING:
            raise AudiotokError(f"{what} lacks the field {f.name!r}")
        if f.name in d and not of_type(d[f.name], str(f.type)):
            raise AudiotokError(
                f"{what} field {f.name!r} is {json.dumps(d[f.name])[:60]}, not "
                f"{_WORDS.get(str(f.type), f.type)}"
            )
