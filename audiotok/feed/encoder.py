"""FeedEncoder: one source's raw codes ``[K, T']`` -> the token sequence an LM reads, and back.

Steps, each invertible: pick the rows of the vocabulary's streams -> (optional) dedup with
durations, semantic streams only -> ``VocabSpec.to_ids`` (the offsets) -> pattern -> framing.

Framing: flat sequences get ``[bos] [<source>] ids [</source>] [eos]`` (bos and the source
markers optional, eos on by default: packing needs it between documents); row layouts get a
column of bos / eos in every row; VALL-E's split frames its AR part (VALL-E appends an EOS
after the first codebook's frames; its NAR part has none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from audiotok.feed import slots
from audiotok.feed.dedup import dedup as dedup_runs
from audiotok.feed.dedup import expand
from audiotok.feed.patterns import FLAT, ROWS, SPLIT, Pattern, get_pattern
from audiotok.feed.source import Block, specs_of
from audiotok.feed.vocab import VocabError, VocabSpec


@dataclass
class Encoded:
    """tokens: int64 ``[S]`` (flat), ``[R, S]`` (rows) or ``{"ar": [S], "nar": [R-1, T]}``;
    durations: frames per unit when deduplicated, else None; frames: T' before dedup."""

    tokens: Any
    durations: np.ndarray | None
    frames: int


class FeedEncoder:
    def __init__(
        self,
        vocab: VocabSpec,
        pattern: str | Pattern = "flatten",
        *,
        row_keys: Sequence[tuple[str, int]],
        dedup: bool = False,
        bos: bool = False,
        eos: bool = True,
        markers: bool = False,
        strides: Sequence[int] | None = None,
    ):
        """``strides``: per row key, finest frames per code (multi-rate sources; None: 1)."""
        self.vocab = vocab
        self.pattern = get_pattern(pattern)
        self.stream_idx = [i for i, s in enumerate(vocab.streams) if s.kind != "text"]
        if not self.stream_idx:
            raise VocabError("the vocabulary has no speech stream to feed")
        streams = [vocab.streams[i] for i in self.stream_idx]
        keys = list(row_keys)
        self.rows = []
        for s in streams:
            if (s.source, s.codebook) not in keys:
                raise VocabError(
                    f"vocabulary stream {s.name} ({s.source} codebook {s.codebook}) is not in "
                    f"these tokens ({sorted({k[0] for k in keys})}); build the vocabulary from "
                    "the stores you feed"
                )
            self.rows.append(keys.index((s.source, s.codebook)))
        self.delays = np.array([s.delay for s in streams], dtype=np.int64)
        self._phases = np.array([s.phase for s in streams], dtype=np.int64)
        all_strides = list(strides) if strides is not None else [1] * len(keys)
        self.strides = np.array([all_strides[r] for r in self.rows], dtype=np.int64)
        self.group = max(s.group for s in streams)  # > 1: a per-slot vocabulary (feed/slots.py)
        self.slotted = self.group > 1
        if self.slotted:
            slots.check(streams, self.strides)
        self.pattern.check(self.delays, vocab.layout == "shared", self.strides, self.slotted)
        # per-slot rows are one code per group: the pattern sees them at a single rate
        self._layout_strides = np.ones_like(self.strides) if self.slotted else self.strides
        self.dedup = dedup
        if dedup:
            acoustic = [s.name for s in streams if s.kind != "semantic"]
            if acoustic:
                raise VocabError(
                    f"dedup merges repeated frames of semantic units; {', '.join(acoustic)} "
                    "are acoustic (RVQ) codebooks, whose frames must all stay: feed a semantic "
                    "store (or the semantic codebook of a hybrid one) alone to deduplicate"
                )
        self.bos, self.eos, self.markers = bos, eos, markers
        self._lengths: dict[int, int] = {}  # length(frames), per frame count seen
        self._empty = vocab.specials.get("empty", -1)
        if self.pattern.output == ROWS and self.pattern.uses_delays:
            self._empty = vocab.special("empty")
        self._bos = vocab.special("bos") if bos else None
        self._eos = vocab.special("eos") if eos else None
        self._begin = self._end = None
        if markers:
            sources = sorted({s.source for s in streams})
            if self.pattern.output != FLAT or len(sources) != 1:
                raise VocabError("source markers wrap one source's flat sequence (flatten)")
            self._begin = vocab.special(f"<{sources[0]}>")
            self._end = vocab.special(f"</{sources[0]}>")

    @classmethod
    def for_source(
        cls,
        source: Any,
        pattern: str | Pattern = "flatten",
        *,
        vocab: VocabSpec | None = None,
        layout: str = "shared",
        markers: bool = False,
        offset: int = 0,
        **options: Any,
    ) -> FeedEncoder:
        """An encoder for a source; without ``vocab``, one is built from the source's specs
        with the pattern's delay preset and positions (``VocabSpec.build(specs, layout=...,
        delays=..., positions=..., offset=...)``)."""
        p = get_pattern(pattern)
        specs = specs_of(source)
        if vocab is None:
            for one in specs:
                p.check_strides(one.strides, one.name)
            vocab = VocabSpec.build(
                specs,
                layout=layout,
                delays=p.default_delays,
                markers=markers,
                positions=p.positions,
                offset=offset,
            )
        by_name = {s.name: s for s in specs}
        for s in vocab.streams:
            spec = by_name.get(s.source)
            if spec is not None and s.size != spec.codebook_size:
                raise VocabError(
                    f"vocabulary stream {s.name} has {s.size} codes but {spec.name} has "
                    f"codebook_size {spec.codebook_size}: this vocabulary belongs to other tokens"
                )
        keys = getattr(source, "row_keys", None)
        if keys is None:
            keys = [(specs[0].name, k) for k in range(specs[0].num_codebooks)]
        strides = [by_name[n].strides[k] if n in by_name else 1 for n, k in keys]
        return cls(vocab, p, row_keys=keys, markers=markers, strides=strides, **options)

    # --- properties ----------------------------------------------------------------------
    @property
    def flat(self) -> bool:
        return self.pattern.output == FLAT

    @property
    def pad_id(self) -> int:
        return self.vocab.special("pad")

    def length(self, frames: int) -> int:
        """Tokens (steps) of an example of ``frames`` frames: exact without dedup, an upper
        bound with it."""
        steps = frames // self.group if self.slotted else frames
        n = self.pattern.length(steps, len(self.rows), self.delays, self._layout_strides)
        return n + int(self.bos) + int(self.eos) + 2 * int(self.markers)

    # --- encode / decode -----------------------------------------------------------------
    def encode(self, codes: np.ndarray) -> Encoded:
        """codes [K, T'] of the source (all its rows) -> Encoded."""
        whole = codes.shape[0] == len(self.rows) and self.rows == list(range(len(self.rows)))
        c = codes if whole else codes[self.rows]
        frames = int(c.shape[1])
        durations = None
        if self.dedup:
            c, durations = dedup_runs(c)
        if self.slotted:
            c = slots.take(c, self._phases, self.group)
        ids = self.vocab.to_ids(c, self.stream_idx)
        x = self.pattern.apply(ids, self.delays, self._empty, self._layout_strides)
        return Encoded(self._frame(x), durations, frames)

    def encode_block(
        self, block: Block, docs: np.ndarray, kernels: Any = None, lead: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Flat patterns: documents ``docs`` of a block, in that order -> (their token
        sequences back to back in the vocabulary's dtype, after ``lead`` unwritten entries left
        for the caller; int64 lengths). Equals concatenating ``encode`` per document; flatten
        without dedup takes the fast path: the compiled ``kernels`` (``feed.kernels.load``)
        where given, else one ufunc call per document and the range check once per block."""
        if not self.flat:
            raise VocabError(f"pattern {self.pattern.name} does not give one flat sequence")
        if self.pattern.name != "flatten" or self.dedup or not len(docs):
            seqs = [self.encode(block.codes(int(i))).tokens for i in docs]
            lengths = np.array([len(x) for x in seqs], dtype=np.int64)
            dtype = self.vocab.np_dtype
            tokens = np.empty(lead + int(lengths.sum()), dtype)
            if seqs:
                np.concatenate(seqs, out=tokens[lead:], casting="unsafe")
            return tokens, lengths
        r, k = len(self.rows), block.k
        whole = self.rows == list(range(k))
        rows = np.asarray(self.rows, dtype=np.int64)
        frames = block.lengths[docs]
        body = frames * r  # tokens of each document's body
        heads = [t for t in (self._bos, self._begin) if t is not None]
        tails = [t for t in (self._end, self._eos) if t is not None]
        lengths = body + len(heads) + len(tails)
        dtype = self.vocab.np_dtype
        out = np.empty(lead + int(lengths.sum()), dtype=dtype)
        out_start = np.cumsum(lengths) - lengths + lead
        sizes = np.array([self.vocab.streams[i].size for i in self.stream_idx], dtype=np.int64)
        offsets = np.array([self.vocab.streams[i].offset for i in self.stream_idx], dtype=dtype)
        values = block.values
        body_at = out_start + len(heads)  # where each document's codes start in out
        if kernels is not None:
            bad = kernels.flatten(np.asarray(values), block.starts[docs], frames, body_at, k,
                                  rows, offsets, sizes, out)  # fmt: skip
            if bad >= 0:  # the exact error, from the vocabulary's own check
                self.vocab.to_ids(block.codes(int(docs[bad]))[rows], self.stream_idx)
                raise VocabError(f"document {block.ids[int(docs[bad])]}: a code out of range")
        else:
            if values.size and (int(values.max()) >= sizes.min() or int(values.min()) < 0):
                for i in docs.tolist():  # a code may be out of range: check document by document
                    self.vocab.to_ids(block.codes(i)[rows], self.stream_idx)
            # codes are in range (checked above): the cast below is exact
            scratch = np.empty(int(frames.max(initial=0)) * r, dtype=dtype)
            for s, p, t in zip(block.starts[docs].tolist(), body_at.tolist(), frames.tolist(),
                               strict=True):  # fmt: skip
                src = values[s : s + k * t].reshape(k, t)
                tmp = scratch[: r * t].reshape(r, t)  # offsets added row by row (contiguous) ...
                np.add(src if whole else src[rows], offsets[:, None], out=tmp, casting="unsafe")
                out[p : p + r * t].reshape(t, r)[...] = tmp.T  # ... then one transposing copy
        for h, tok in enumerate(heads):
            out[out_start + h] = tok
        for e, tok in enumerate(tails):
            out[body_at + body + e] = tok
        return out, lengths

    @property
    def bulk_rows(self) -> bool:
        """Row layouts ``rows_batch`` builds in place (parallel, delay, multistream; no dedup)."""
        return self.pattern.name in ("parallel", "delay", "multistream") and not self.dedup

    def rows_batch(self, docs: Sequence[tuple[Block, int]]) -> tuple[np.ndarray, np.ndarray]:
        """Row patterns: documents ``(block, row)`` -> (int64 ``[B, R, S]`` padded with
        ``pad_id``, the int64 steps of each). Equals ``pad_collate`` over ``encode`` per
        document: each document written once at its place in the batch (offsets added on the
        way, all rows in one call where the rows' starts are evenly spaced, as MusicGen's
        delays are), ``empty`` around the delayed rows, the bos / eos columns."""
        r = len(self.rows)
        rows = np.asarray(self.rows, dtype=np.int64)
        whole = rows.tolist() == list(range(docs[0][0].k)) if docs else True
        delayed = self.pattern.uses_delays
        starts = (1 + self.delays if delayed else np.zeros(r, np.int64)).tolist()
        step = starts[1] - starts[0] if r > 1 else 0
        even = all(b - a == step for a, b in zip(starts, starts[1:], strict=False))
        bos, eos = self._bos, self._eos
        head, tail = int(bos is not None), int(eos is not None)
        frames = [int(block.lengths[i]) for block, i in docs]
        known = self._lengths
        widths = np.array(
            [known[t] if t in known else known.setdefault(t, self.length(t)) for t in frames],
            dtype=np.int64,
        )
        x = np.full((len(docs), r, int(widths.max(initial=0))), self.pad_id, dtype=np.int64)
        offsets = np.array([self.vocab.streams[i].offset for i in self.stream_idx], np.int64)
        smallest = min(self.vocab.streams[i].size for i in self.stream_idx)
        item = x.itemsize
        strides = (x.strides[1] + step * item, item)
        for n, ((block, i), t, w) in enumerate(zip(docs, frames, widths.tolist(), strict=True)):
            dst = x[n, :, :w]
            if delayed:
                dst[:, head : w - tail] = self._empty
            codes = block.codes(i)
            src = codes if whole else codes[rows]
            if src.size and (int(src.max()) >= smallest or _negative(src)):
                src = self.vocab.to_ids(src, self.stream_idx)  # the exact check (raises)
                for j in range(r):
                    dst[j, head + starts[j] : head + starts[j] + t] = src[j]
            elif even and t:  # row j from column head + starts[0] + j * step: one strided view
                at = n * x.strides[0] + (head + starts[0]) * item  # inside x: t <= w - starts
                out = np.ndarray((r, t), np.int64, buffer=x, offset=at, strides=strides)
                np.add(src, offsets[:, None], out=out)
            else:
                for j in range(r):
                    np.add(src[j], offsets[j], out=dst[j, head + starts[j] : head + starts[j] + t])
            if bos is not None:
                dst[:, 0] = bos
            if eos is not None:
                dst[:, w - 1] = eos
        return x, widths

    def decode(self, tokens: Any, durations: np.ndarray | None = None) -> np.ndarray:
        """Inverse of ``encode``: raw codes [R, T'] of the fed streams (vocabulary order; a
        per-slot vocabulary's: of its codebooks, in the store's repeated layout)."""
        x = self._unframe(tokens)
        ids = self.pattern.invert(x, len(self.rows), self.delays, self._empty, self._layout_strides)
        codes = self.vocab.from_ids(ids, self.stream_idx)
        if self.slotted:
            codebooks = [self.vocab.streams[i].codebook for i in self.stream_idx]
            codes = slots.put(codes, codebooks, self._phases, self.group, self.strides)
        if self.dedup:
            if durations is None:
                raise VocabError("deduplicated tokens decode with their durations")
            codes = expand(codes, durations)
        return codes

    def _frame(self, x: Any) -> Any:
        out = self.pattern.output
        if out == SPLIT:
            return {"ar": self._frame_flat(x["ar"], markers=False), "nar": x["nar"]}
        if out == ROWS:
            cols = [x]
            if self._bos is not None:
                cols.insert(0, np.full((x.shape[0], 1), self._bos, np.int64))
            if self._eos is not None:
                cols.append(np.full((x.shape[0], 1), self._eos, np.int64))
            return np.concatenate(cols, axis=1) if len(cols) > 1 else x
        return self._frame_flat(x, markers=True)

    def _frame_flat(self, x: np.ndarray, *, markers: bool) -> np.ndarray:
        head = [t for t in (self._bos, self._begin if markers else None) if t is not None]
        tail = [t for t in (self._end if markers else None, self._eos) if t is not None]
        if not head and not tail:
            return x
        return np.concatenate([np.array(head, np.int64), x, np.array(tail, np.int64)])

    def _unframe(self, tokens: Any) -> Any:
        out = self.pattern.output
        if out == SPLIT:
            return {
                "ar": self._unframe_flat(np.asarray(tokens["ar"]), markers=False),
                "nar": np.asarray(tokens["nar"]),
            }
        x = np.asarray(tokens, dtype=np.int64)
        if out == ROWS:
            if x.ndim != 2:
                raise VocabError(f"pattern {self.pattern.name} gives [R, S] tokens, got {x.shape}")
            lo = 1 if self._bos is not None else 0
            hi = x.shape[1] - (1 if self._eos is not None else 0)
            if hi < lo:
                raise VocabError("tokens too short for their bos/eos columns")
            for col, tok, name in ((0, self._bos, "bos"), (-1, self._eos, "eos")):
                if tok is not None and np.any(x[:, col] != tok):
                    raise VocabError(f"expected a column of {name} tokens")
            return x[:, lo:hi]
        return self._unframe_flat(x, markers=True)

    def _unframe_flat(self, x: np.ndarray, *, markers: bool) -> np.ndarray:
        head = [t for t in (self._bos, self._begin if markers else None) if t is not None]
        tail = [t for t in (self._end if markers else None, self._eos) if t is not None]
        if len(x) < len(head) + len(tail):
            raise VocabError("tokens too short for their framing")
        if list(x[: len(head)]) != head or (tail and list(x[len(x) - len(tail) :]) != tail):
            raise VocabError(f"tokens do not start with {head} and end with {tail}")
        return x[len(head) : len(x) - len(tail)]


def _negative(a: np.ndarray) -> bool:
    """Whether an array of codes holds a negative value (never, for unsigned dtypes)."""
    return a.dtype.kind != "u" and int(a.min()) < 0
