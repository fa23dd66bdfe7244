"""From audio to language-model-ready unit sequences, with the library API only.

    python examples/semantic_pipeline.py examples/corpus /tmp/units [-k 50]

1. extract 39-d MFCC features of every file (a feature store, resumable);
2. train a k-means codebook on them;
3. encode the corpus into a token store with that codebook;
4. read the store back and print unit sequences with repeats removed ("deduplicated"
   units, as unit language models such as GSLM consume them).

Swap ``"mfcc"`` for an S3M model (``"hubert-base-ls960"`` with ``layers=[6]``) once its
weights are on the machine (``audiotok models path hubert-base-ls960``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import audiotok
from audiotok import extractors
from audiotok.corpus import scan
from audiotok.kmeans import train_codebook
from audiotok.pipeline import RunOptions, encode_corpus, extract_corpus
from audiotok.semantic import SemanticTokenizer
from audiotok.store import open_features


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("-k", type=int, default=50)
    a = ap.parse_args()
    out = Path(a.out)
    items = scan([a.corpus])
    ex = extractors.load("mfcc")

    inline = RunOptions(num_workers=0)  # decode in this process (a tiny corpus)
    extract_corpus(items, ex, out / "feats", options=inline)
    store = open_features(out / "feats")
    feats = np.concatenate([f for _, f in store.iter()]).astype(np.float32)
    codebook = train_codebook(feats, a.k, seed=0, meta={"extractor": ex.name, "layer": ex.layer})
    codebook.save(out / f"km{a.k}.safetensors")
    print(f"trained k={a.k} on {len(feats)} frames: inertia {codebook.meta['inertia']:.4g}")

    tok = SemanticTokenizer(ex, audiotok.kmeans.load(out / f"km{a.k}.safetensors"))
    summary = encode_corpus(items, tok, out / "tokens", options=inline)
    print(f"encoded {summary.encoded} utterances, {summary.frames} frames")

    for utt_id, codes in audiotok.open_tokens(str(out / "tokens")):
        units = codes[0]  # codes are [K, T']; semantic units have K = 1
        dedup = units[np.concatenate([[True], units[1:] != units[:-1]])]
        head = " ".join(map(str, dedup[:20]))
        print(f"{utt_id}: {len(units)} frames -> {len(dedup)} deduplicated units: {head} ...")


if __name__ == "__main__":
    main()
