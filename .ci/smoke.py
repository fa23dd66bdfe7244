"""A short smoke of the library in a base-only environment (CI runs it with the oldest torch
audiotok supports): read the store the first command wrote, export it once, and encode/decode
with EnCodec 24 kHz built with tiny random weights (no download).

    python .ci/smoke.py TOKENS_DIR WORK_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

import audiotok
from audiotok.feed.exporters import export


def main(tokens: str, work: str) -> None:
    store = audiotok.open_tokens(tokens)
    total = sum(int(codes.shape[-1]) for _, codes in store)
    assert total > 0, "no codes read"
    out = Path(work) / "nanogpt"
    export(tokens, out, to="nanogpt")
    written = sorted(p.name for p in out.iterdir())
    assert any(name.endswith(".bin") for name in written), written

    tok = audiotok.load(
        "encodec-24khz", pretrained=False, device="cpu", config={"n_filters": 4}, n_codebooks=8
    )
    g = torch.Generator().manual_seed(0)
    wav = 0.1 * torch.randn(24000, generator=g)
    codes = tok.encode(wav, 24000)
    assert codes.shape == (8, 75), tuple(codes.shape)
    audio = tok.decode(codes)
    assert np.isfinite(np.asarray(audio)).all() and np.asarray(audio).size >= 24000 - 320
    print(
        f"smoke with torch {torch.__version__}: {len(store)} utterances, {total} codes read, "
        f"exported {written}, EnCodec codes {tuple(codes.shape)} decoded"
    )


if __name__ == "__main__":
    main(*sys.argv[1:3])
