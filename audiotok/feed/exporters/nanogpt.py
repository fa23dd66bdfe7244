"""nanoGPT: ``train.bin`` / ``val.bin``, every document's tokens back to back as uint16 with
EOS after each, plus the vocabulary's metadata.

nanoGPT's ``train.py`` memory-maps both files as ``np.uint16`` (fixed in its code), so a
vocabulary past 65,536 ids is refused. Its ``data/shakespeare_char/prepare.py`` writes
``meta.pkl`` = ``{"vocab_size", "itos", "stoi"}`` and ``train.py`` reads ``vocab_size`` from
it (else it assumes GPT-2's 50,304). We write ``meta.pkl`` for that compatibility, holding
only those built-in types (dict, int, str), and ``meta.json`` with the same content plus the
vocabulary spec: read ``meta.json``; nothing of ours ever loads the pickle.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.errors import AudiotokError
from audiotok.feed.encoder import Encoded, FeedEncoder
from audiotok.feed.exporters.base import VALID, Format, IdsFile


class NanoGPTWriter:
    def __init__(self, out: Path, split: str, encoder: FeedEncoder):
        name = "val" if split == VALID else split
        self.f = open(out / f"{name}.bin", "wb")  # noqa: SIM115
        self.ids = IdsFile(out / f"{name}.ids")
        self.docs = self.tokens = 0

    def add(self, utt_id: str, enc: Encoded) -> None:
        t = np.asarray(enc.tokens).astype(np.uint16)
        self.f.write(t.tobytes())
        self.ids.add(utt_id)
        self.docs += 1
        self.tokens += len(t)

    def close(self) -> dict[str, Any]:
        self.f.close()
        self.ids.close()
        return {"documents": self.docs, "tokens": self.tokens}


def check(encoder: FeedEncoder) -> None:
    if encoder.vocab.dtype != "uint16":
        raise AudiotokError(
            f"nanoGPT reads uint16 tokens only and this vocabulary has "
            f"{encoder.vocab.vocab_size} ids; export to megatron or hf instead"
        )


def symbols(encoder: FeedEncoder) -> dict[int, str]:
    """id -> a readable symbol: the code (stream-prefixed when several) or <special>."""
    v = encoder.vocab
    out: dict[int, str] = {}
    many = len(v.streams) > 1
    for s in v.streams:
        for c in range(s.size):
            out.setdefault(s.offset + c, f"{s.name}:{c}" if many else str(c))
    for name, i in v.specials.items():
        out[i] = name if name.startswith("<") else f"<{name}>"
    return out


def finish(out: Path, encoder: FeedEncoder, stats: dict[str, dict[str, Any]]) -> list[str]:
    itos = symbols(encoder)
    meta = {
        "vocab_size": encoder.vocab.vocab_size,
        "itos": itos,
        "stoi": {s: i for i, s in itos.items()},
    }
    with open(out / "meta.pkl", "wb") as f:
        pickle.dump(meta, f, protocol=4)
    doc = {
        **meta,
        "itos": {str(i): s for i, s in itos.items()},
        "eos": encoder._eos,
        "vocab": encoder.vocab.to_dict(),
    }
    (out / "meta.json").write_text(json.dumps(doc, indent=1) + "\n")
    return ["meta.pkl", "meta.json"]


NANOGPT = Format(
    "nanogpt",
    NanoGPTWriter,
    finish=finish,
    check=check,
    summary="train.bin / val.bin (uint16, EOS between documents), meta.pkl + meta.json",
)
