"""fairseq text format: what ``fairseq-preprocess --only-source --srcdict dict.txt`` binarizes.

- ``train.txt`` / ``valid.txt``: one document per line, its token ids as decimal symbols
  separated by spaces (no EOS: fairseq appends its own ``</s>`` when it binarizes);
- ``train.ids`` / ``valid.ids``: the utterance id of each line; ``<split>.durations`` with
  ``--dedup``: the frames of each unit, aligned with the units;
- ``dict.txt``: every id of the vocabulary in id order, ``"<symbol> <count>"`` per line (count
  in the train split, 0 if unseen), the format ``fairseq.data.Dictionary.load`` reads.

fairseq's Dictionary puts its four specials first (``<s>`` 0, ``<pad>`` 1, ``</s>`` 2,
``<unk>`` 3) and adds the file's symbols in file order, so id ``i`` becomes fairseq index
``i + 4``. Always pass ``--srcdict dict.txt``: without it ``fairseq-preprocess`` builds its own
dictionary and ``Dictionary.finalize`` sorts symbols by count, which permutes the unit ids
(the index of a unit then depends on the corpus).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from audiotok.feed.encoder import Encoded, FeedEncoder
from audiotok.feed.exporters.base import TRAIN, Format, IdsFile


class FairseqWriter:
    def __init__(self, out: Path, split: str, encoder: FeedEncoder):
        self.text = open(out / f"{split}.txt", "w", encoding="utf-8")  # noqa: SIM115
        self.ids = IdsFile(out / f"{split}.ids")
        self.durations = (
            open(out / f"{split}.durations", "w", encoding="utf-8") if encoder.dedup else None  # noqa: SIM115
        )
        self.counts = np.zeros(encoder.vocab.vocab_size, dtype=np.int64)
        self.docs = self.tokens = 0

    def add(self, utt_id: str, enc: Encoded) -> None:
        t = np.asarray(enc.tokens)
        self.text.write(" ".join(map(str, t.tolist())) + "\n")
        self.ids.add(utt_id)
        if self.durations is not None and enc.durations is not None:
            self.durations.write(" ".join(map(str, enc.durations.tolist())) + "\n")
        self.counts += np.bincount(t, minlength=len(self.counts))
        self.docs += 1
        self.tokens += len(t)

    def close(self) -> dict[str, Any]:
        self.text.close()
        self.ids.close()
        if self.durations is not None:
            self.durations.close()
        return {"documents": self.docs, "tokens": self.tokens, "counts": self.counts}


def finish(out: Path, encoder: FeedEncoder, stats: dict[str, dict[str, Any]]) -> list[str]:
    counts = stats.get(TRAIN, {}).get("counts")
    if counts is None:
        counts = np.zeros(encoder.vocab.vocab_size, dtype=np.int64)
    lines = [f"{i} {int(c)}\n" for i, c in enumerate(counts.tolist())]
    (out / "dict.txt").write_text("".join(lines), encoding="utf-8")
    for s in stats.values():
        s.pop("counts", None)
    return ["dict.txt"]


FAIRSEQ = Format(
    "fairseq",
    FairseqWriter,
    eos=False,
    finish=finish,
    summary="<split>.txt (units per line), <split>.ids, dict.txt (fairseq-preprocess --srcdict)",
)
