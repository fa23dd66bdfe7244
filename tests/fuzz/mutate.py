"""Seeded mutations of the files audiotok reads from users (issue #19): see
:mod:`harness` for how mutants are run and judged.

For bytes: bit flips, random bytes, truncation, insertion, deletion, duplication and huge
little-endian integers (lengths) over 4 or 8 bytes. For JSON: a value swapped for another type
or an extreme value, a field deleted or added, deep nesting (past any recursion limit), a list
blown up. For text: lines deleted, duplicated, swapped or inserted from a pool of hostile
cells (huge integers, negatives, ``..``, absolute paths, NUL, BOM, tabs, pipes). Each JSON or
text mutant is, with some probability, byte-mutated on top, so the parser's own errors are
reached too.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from typing import Any

HUGE_INTS = (
    0xFF,
    0xFFFF,
    0x7FFFFFFF,
    0xFFFFFFFF,
    0x7FFFFFFFFFFFFFFF,
    0xFFFFFFFFFFFFFFFF,
    1 << 40,
    1 << 31,
)
JSON_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1,
    2**31,
    2**63,
    10**30,
    -(10**30),
    1e308,
    -0.5,
    float("nan"),
    "",
    "x",
    "../../etc",
    "/abs/path",
    "a\nb",
    "\x00",
    "é" * 3,
    [],
    [1, 2],
    {},
    {"a": 1},
)
DEEP = "\x01deep\x01"
TEXT_CELLS = (
    "0",
    "-1",
    "99999999999999999999999",
    "1e9",
    "nan",
    "..",
    "../x.wav",
    "/abs/x.wav",
    "a/./b.wav",
    "\x00",
    "\ufeff",
    "\t",
    "|",
    "a|b",
    '"',
    "é",
    "\\x.wav",
    "{}",
    '{"path": 1}',
    '{"path": "a.wav", "id": [1]}',
    '{"path": "a.wav", "id": 1e400}',
    "[" * 50,
    " ",
)


# --- mutations ---------------------------------------------------------------------------
def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
        op = rng.randrange(8)
        n = len(b)
        if n == 0:
            b += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
            continue
        i = rng.randrange(n)
        if op == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[i] = rng.randrange(256)
        elif op == 2:
            del b[rng.randrange(n) :]
        elif op == 3:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 32)))
        elif op == 4:
            del b[i : i + rng.randrange(1, 64)]
        elif op == 5:
            j = rng.randrange(n)
            b[i:i] = b[j : j + rng.randrange(1, 64)]
        else:
            width = rng.choice((4, 8))
            v = rng.choice(HUGE_INTS) & ((1 << (8 * width)) - 1)
            b[i : i + width] = v.to_bytes(width, "little")
    return bytes(b)


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def _extreme(rng: random.Random, old: Any) -> Any:
    if isinstance(old, bool) or rng.random() < 0.6:
        return copy.deepcopy(rng.choice(JSON_VALUES))
    if isinstance(old, int):
        return rng.choice((old + 1, old - 1, -old, old * 1000, 2**62, 0))
    if isinstance(old, float):
        return rng.choice((-old, old * 1e6, 0.0, 1e-300))
    if isinstance(old, str):
        return rng.choice((old + "x", old[:-1], old.upper(), old * 50))
    if isinstance(old, list):
        return old * rng.choice((0, 2, 100))
    return copy.deepcopy(rng.choice(JSON_VALUES))


def mutate_json(rng: random.Random, data: bytes) -> bytes:
    try:
        obj = json.loads(data)
    except ValueError:
        return mutate_bytes(rng, data)
    for _ in range(rng.choice((1, 1, 2, 3))):
        paths = _paths(obj)
        path = rng.choice(paths)
        op = rng.randrange(5)
        if not path:
            if op == 0:
                obj = copy.deepcopy(rng.choice(JSON_VALUES))
            continue
        parent = obj
        for k in path[:-1]:
            parent = parent[k]
        key = path[-1]
        if op == 0 and isinstance(parent, dict):
            del parent[key]
        elif op == 1:
            parent[key] = DEEP  # replaced by deep nesting in the text, past any recursion limit
        elif op == 2 and isinstance(parent, dict):
            parent[rng.choice(("extra", "format", "spec", "shards", "files", "x" * 10))] = (
                copy.deepcopy(rng.choice(JSON_VALUES))
            )
        else:
            parent[key] = _extreme(rng, parent[key])
    text = json.dumps(obj, ensure_ascii=rng.random() < 0.5)
    depth = rng.choice((30, 5000, 100_000))
    text = text.replace(json.dumps(DEEP), "[" * depth + "1" + "]" * depth)
    raw = text.encode("utf-8", "surrogatepass")
    return mutate_bytes(rng, raw) if rng.random() < 0.2 else raw


def mutate_text(rng: random.Random, data: bytes) -> bytes:
    lines = data.decode("utf-8", "replace").split("\n")
    for _ in range(rng.choice((1, 1, 2, 3))):
        op = rng.randrange(6)
        i = rng.randrange(len(lines)) if lines else 0
        if op == 0 and lines:
            del lines[i]
        elif op == 1 and lines:
            lines.insert(i, lines[i])
        elif op == 2 and len(lines) > 1:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 3 and lines:
            cells = lines[i].split(rng.choice(("\t", " ", "|")))
            cells[rng.randrange(len(cells))] = rng.choice(TEXT_CELLS)
            lines[i] = rng.choice(("\t", " ", "|")).join(cells)
        else:
            sep = rng.choice(("\t", " ", "|", ""))
            lines.insert(i, sep.join(rng.choice(TEXT_CELLS) for _ in range(rng.randrange(1, 4))))
    raw = "\n".join(lines).encode("utf-8", "surrogatepass")
    return mutate_bytes(rng, raw) if rng.random() < 0.3 else raw


MUTATORS: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "bytes": mutate_bytes,
    "json": mutate_json,
    "text": mutate_text,
}
