"""VocabSpec: how raw codes of one or more token streams become ids of one LM vocabulary.

The only place offsets are applied (``to_ids``) and removed (``from_ids``); stores keep raw codes.

A *stream* is one codebook of one source (``mfcc-km100``; ``encodec-24khz.c3``) or a reserved
text range. Layouts:

- ``shared``: one table. Streams take consecutive ranges in order (a text range first when
  given, so a text LLM keeps its ids and speech goes after them, as when extending a text LLM
  with speech units); the specials follow the last stream. Flat patterns need it.
- ``separate``: one table per stream (VALL-E's per-codebook embeddings, MusicGen's K
  embeddings of ``card + 1``): every stream's codes keep their raw values ``0..size-1`` and the
  specials sit at ``max(size) + j`` in every table, so with equal codebook sizes and ``empty``
  listed first the fill token is ``card``, as in audiocraft's delay pattern.

Specials, in the order given (their ids follow that order): ``pad``, ``bos``, ``eos``,
``empty`` (the fill token of delayed / not-yet-started positions: MusicGen's special token)
and, with ``markers=True``, a begin and end marker per source: ``<name>`` and ``</name>``.
``vocab_size`` is the size of one table; ``dtype`` is ``uint16`` when every id fits in 16 bits
(vocab_size <= 65,536), else ``int32``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.feed.errors import VocabError
from audiotok.feed.slots import PER_SLOT, POSITIONS, slot_fields
from audiotok.spec import TokenSpec

KINDS = ("semantic", "acoustic", "text")
LAYOUTS = ("shared", "separate")
DEFAULT_SPECIALS = ("pad", "bos", "eos", "empty")
DELAY_PRESETS = ("none", "musicgen", "moshi")
FORMAT = "audiotok-vocab"
UINT16_MAX_VOCAB = 1 << 16


@dataclass(frozen=True)
class StreamSpec:
    """One stream: ``size`` raw codes ``0..size-1`` that become ids ``offset..offset+size-1``.

    ``source``/``codebook``: the TokenSpec name and codebook index the codes come from
    (``"text"``/0 for a text range). ``frame_rate``: the stream's native rate in Hz.
    ``delay``: frames the delay-style patterns shift this stream right by. ``group`` /
    ``phase``: a per-slot stream (:mod:`audiotok.feed.slots`) holds the code of its codebook
    at finest frame ``phase`` of every group of ``group`` frames; ``group`` 1: every frame.
    """

    name: str
    kind: str
    size: int
    source: str
    codebook: int = 0
    frame_rate: float | None = None
    delay: int = 0
    offset: int = 0
    group: int = 1
    phase: int = 0


@dataclass(frozen=True)
class VocabSpec:
    streams: tuple[StreamSpec, ...]
    specials: dict[str, int] = field(default_factory=dict)
    layout: str = "shared"
    vocab_size: int = 0

    def __post_init__(self) -> None:
        self.validate()

    # --- building ------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        specs: Sequence[TokenSpec],
        *,
        layout: str = "shared",
        codebooks: Sequence[Sequence[int] | None] | None = None,
        delays: str | Sequence[int] = "none",
        text_size: int | None = None,
        specials: Sequence[str] = DEFAULT_SPECIALS,
        markers: bool = False,
        positions: str = "per_codebook",
        offset: int = 0,
    ) -> VocabSpec:
        """Streams from store specs (in order), optional text range first, then specials.

        codebooks: per spec, which codebooks to feed (None: all). delays: one int per stream
        (text included), or a preset: ``none``; ``musicgen`` (codebook k of a source is
        delayed by k, audiocraft's DelayedPatternProvider default); ``moshi`` (semantic and
        text streams 0, acoustic streams 1, the ``delays`` of Moshi's 7B config in
        kyutai-labs/moshi ``models/loaders.py``: [0, 0, 1, 1, 1, 1, 1, 1, 1, ...]).
        positions: ``per_codebook`` (one id range per codebook) or ``per_slot`` (multi-rate
        sources: one range per position of a coarse_to_fine group, as Orpheus TTS:
        :mod:`audiotok.feed.slots`). offset: the first id of the first stream (ids below it are
        left to another vocabulary; Orpheus TTS puts SNAC codes at 128,266, after Llama 3's
        text ids and its own special tokens).
        """
        if positions not in POSITIONS:
            raise VocabError(f"unknown positions {positions!r}: use {', '.join(POSITIONS)}")
        if layout not in LAYOUTS:
            raise VocabError(f"unknown layout {layout!r}: use one of {', '.join(LAYOUTS)}")
        if codebooks is not None and len(codebooks) != len(specs):
            raise VocabError(f"codebooks lists {len(codebooks)} entries for {len(specs)} stores")
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise VocabError(f"two stores with the same tokenizer name in one vocabulary: {names}")
        streams: list[StreamSpec] = []
        if text_size is not None:
            streams.append(StreamSpec("text", "text", int(text_size), "text"))
        for i, spec in enumerate(specs):
            chosen = codebooks[i] if codebooks is not None else None
            ks = list(range(spec.num_codebooks)) if chosen is None else [int(k) for k in chosen]
            for k in ks:
                if not 0 <= k < spec.num_codebooks:
                    raise VocabError(f"{spec.name} has no codebook {k} (K={spec.num_codebooks})")
            if positions == PER_SLOT:
                rate = float(spec.frame_rate) / max(spec.strides)  # one code per group
                for f in slot_fields(spec.name, spec.strides, ks):
                    sem = spec.kind == "semantic" or f["codebook"] in spec.semantic_codebooks
                    kind, size = "semantic" if sem else "acoustic", int(spec.codebook_size)
                    streams.append(StreamSpec(kind=kind, size=size, source=spec.name,
                                              frame_rate=rate, **f))  # fmt: skip
                continue
            for k in ks:
                semantic = spec.kind == "semantic" or k in spec.semantic_codebooks
                name = spec.name if spec.num_codebooks == 1 else f"{spec.name}.c{k}"
                streams.append(
                    StreamSpec(
                        name,
                        "semantic" if semantic else "acoustic",
                        int(spec.codebook_size),
                        spec.name,
                        k,
                        float(spec.rates[k]),
                    )
                )
        streams = _with_delays(streams, delays)
        return cls.assemble(
            streams, layout=layout, specials=specials, markers=markers, offset=offset
        )

    @classmethod
    def assemble(
        cls,
        streams: Sequence[StreamSpec],
        *,
        layout: str = "shared",
        specials: Sequence[str] = DEFAULT_SPECIALS,
        markers: bool = False,
        offset: int = 0,
    ) -> VocabSpec:
        """Offsets and special ids for streams given in order (their own offsets ignored), the
        first stream at ``offset`` (shared layout)."""
        if not streams:
            raise VocabError("a vocabulary needs at least one stream")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise VocabError(f"offset must be an integer >= 0, not {offset!r}")
        if offset and layout != "shared":
            raise VocabError("offset applies to the shared layout (separate tables start at 0)")
        names = list(specials)
        if markers:
            for src in dict.fromkeys(s.source for s in streams):
                names += [f"<{src}>", f"</{src}>"]
        if len(set(names)) != len(names):
            raise VocabError(f"special token names repeat: {names}")
        placed: list[StreamSpec] = []
        if layout == "shared":
            at = offset
            for s in streams:
                placed.append(replace(s, offset=at))
                at += s.size
            base = at
        else:
            placed = [replace(s, offset=0) for s in streams]
            base = max(s.size for s in streams)
        ids = {n: base + j for j, n in enumerate(names)}
        return cls(tuple(placed), ids, layout, base + len(names))

    # --- checks --------------------------------------------------------------------------
    def validate(self) -> None:
        """Every id belongs to one stream or one special, all inside ``vocab_size``."""
        if self.layout not in LAYOUTS:
            raise VocabError(f"unknown layout {self.layout!r}")
        if not self.streams:
            raise VocabError("a vocabulary needs at least one stream")
        names = [s.name for s in self.streams]
        if len(set(names)) != len(names):
            raise VocabError(f"stream names repeat: {names}")
        for s in self.streams:
            if s.kind not in KINDS:
                raise VocabError(f"stream {s.name}: kind {s.kind!r} is not one of {KINDS}")
            if s.size < 1 or s.offset < 0 or s.delay < 0:
                raise VocabError(f"stream {s.name}: size >= 1, offset >= 0, delay >= 0 needed")
            if s.group < 1 or not 0 <= s.phase < s.group:
                raise VocabError(f"stream {s.name}: group >= 1 and 0 <= phase < group needed")
            if s.offset + s.size > self.vocab_size:
                raise VocabError(f"stream {s.name} ends past the vocabulary ({self.vocab_size})")
            if self.layout == "separate" and s.offset != 0:
                raise VocabError(f"stream {s.name}: separate tables start at 0")
        if self.layout == "shared":
            spans = sorted((s.offset, s.offset + s.size, s.name) for s in self.streams)
            for (_, end, a), (start, _, b) in pairwise(spans):
                if start < end:
                    raise VocabError(f"streams {a} and {b} overlap in the shared vocabulary")
        ids = list(self.specials.values())
        if len(set(ids)) != len(ids):
            raise VocabError(f"two special tokens share an id: {self.specials}")
        for name, i in self.specials.items():
            if not 0 <= i < self.vocab_size:
                raise VocabError(f"special {name} = {i} is outside 0..{self.vocab_size - 1}")
            for s in self.streams:
                if s.offset <= i < s.offset + s.size:
                    raise VocabError(f"special {name} = {i} collides with stream {s.name}")

    # --- lookups -------------------------------------------------------------------------
    @property
    def dtype(self) -> str:
        return "uint16" if self.vocab_size <= UINT16_MAX_VOCAB else "int32"

    @property
    def np_dtype(self) -> type[np.integer]:
        return np.uint16 if self.dtype == "uint16" else np.int32

    def special(self, name: str) -> int:
        try:
            return self.specials[name]
        except KeyError:
            raise VocabError(
                f"the vocabulary has no special token {name!r} (it has "
                f"{', '.join(self.specials) or 'none'}); rebuild it with that special"
            ) from None

    def stream_index(self, name: str) -> int:
        for i, s in enumerate(self.streams):
            if s.name == name:
                return i
        raise VocabError(f"no stream {name!r} in the vocabulary ({[s.name for s in self.streams]})")

    def to_ids(self, codes: np.ndarray, streams: Sequence[int]) -> np.ndarray:
        """Raw codes [R, T] of the given streams -> int64 ids [R, T] (offsets added)."""
        c = np.asarray(codes)
        sizes = np.array([self.streams[i].size for i in streams], dtype=np.int64)
        if c.size:
            lo, hi = c.min(axis=1), c.max(axis=1)
            bad = np.flatnonzero((lo < 0) | (hi >= sizes))
            if len(bad):
                s = self.streams[streams[bad[0]]]
                raise VocabError(
                    f"stream {s.name}: code {int(hi[bad[0]])} or {int(lo[bad[0]])} is outside "
                    f"0..{s.size - 1}; the tokens do not match this vocabulary spec"
                )
        offsets = np.array([self.streams[i].offset for i in streams], dtype=np.int64)
        return c.astype(np.int64) + offsets[:, None]

    def from_ids(self, ids: np.ndarray, streams: Sequence[int]) -> np.ndarray:
        """Ids [R, T] of the given streams -> raw int64 codes; an id of another stream or a
        special token is an error."""
        x = np.asarray(ids, dtype=np.int64)
        offsets = np.array([self.streams[i].offset for i in streams], dtype=np.int64)
        sizes = np.array([self.streams[i].size for i in streams], dtype=np.int64)
        c = x - offsets[:, None]
        bad = (c < 0) | (c >= sizes[:, None])
        if bad.any():
            r, t = np.argwhere(bad)[0]
            raise VocabError(
                f"id {int(x[r, t])} at frame {int(t)} is not a code of stream "
                f"{self.streams[streams[r]].name}"
            )
        return c

    # --- JSON ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": 1,
            "layout": self.layout,
            "vocab_size": self.vocab_size,
            "dtype": self.dtype,
            "streams": [_stream_dict(s) for s in self.streams],
            "specials": dict(self.specials),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VocabSpec:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise VocabError("not an audiotok vocabulary spec (format != audiotok-vocab)")
        try:
            streams = tuple(_stream(s) for s in d["streams"])
            v = cls(
                streams,
                {str(k): _int(i) for k, i in d["specials"].items()},
                d["layout"],
                _int(d["vocab_size"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
            raise VocabError(f"vocabulary spec is missing or has a wrong field: {e}") from None
        if d.get("dtype", v.dtype) != v.dtype:
            raise VocabError(f"dtype {d['dtype']!r} does not follow vocab_size {v.vocab_size}")
        return v

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return p

    @classmethod
    def load(cls, path: str | Path) -> VocabSpec:
        p = Path(path)
        try:
            d = json.loads(p.read_bytes().decode("utf-8"))
        except (OSError, ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
            why = " ".join(str(e).split())[:200] or type(e).__name__
            raise VocabError(f"cannot read vocabulary spec {p}: {why}") from None
        try:
            return cls.from_dict(d)
        except VocabError as e:  # one line, whatever names the spec holds
            raise VocabError(f"{p}: {' '.join(str(e).split())}") from None


_STREAM_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "kind": (str,),
    "size": (int,),
    "source": (str,),
    "codebook": (int,),
    "frame_rate": (int, float, type(None)),
    "delay": (int,),
    "offset": (int,),
    "group": (int,),
    "phase": (int,),
}


def _stream_dict(s: StreamSpec) -> dict[str, Any]:
    """A stream as JSON; ``group`` / ``phase`` only for per-slot streams (older files have
    neither, and read back with their defaults)."""
    d = asdict(s)
    if s.group == 1 and s.phase == 0:
        del d["group"], d["phase"]
    return d


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{json.dumps(v)[:40]} is not an integer")
    return v


def _stream(d: Any) -> StreamSpec:
    """A StreamSpec from its JSON object, every field of its declared type."""
    if not isinstance(d, dict):
        raise TypeError(f"a stream is a JSON object, not {type(d).__name__}")
    for k, v in d.items():
        want = _STREAM_TYPES.get(k)
        if want is None:
            raise TypeError(f"unknown stream field {k!r}")
        if isinstance(v, bool) or not isinstance(v, want):
            raise TypeError(f"stream field {k!r} is {json.dumps(v)[:40]}")
    return StreamSpec(**d)


def _with_delays(streams: list[StreamSpec], delays: str | Sequence[int]) -> list[StreamSpec]:
    if isinstance(delays, str):
        if delays not in DELAY_PRESETS:
            raise VocabError(f"unknown delays {delays!r}: use {', '.join(DELAY_PRESETS)} or ints")
        if delays == "none":
            values = [0] * len(streams)
        elif delays == "musicgen":  # the j-th fed codebook of a source is delayed by j
            seen: dict[str, int] = {}
            values = []
            for s in streams:
                values.append(0 if s.kind == "text" else seen.get(s.source, 0))
                seen[s.source] = seen.get(s.source, 0) + 1
        else:
            values = [1 if s.kind == "acoustic" else 0 for s in streams]
    else:
        values = [int(d) for d in delays]
        if len(values) != len(streams):
            raise VocabError(f"{len(values)} delays for {len(streams)} streams")
    return [replace(s, delay=d) for s, d in zip(streams, values, strict=True)]
