"""audiotok: speech to discrete tokens and back, for token-based speech language models.

Library use (torch is imported only when a model is built)::

    import audiotok
    tok = audiotok.load("mfcc-km100")
    units = tok.encode(wav, sample_rate)          # LongTensor [T'] (or [K, T'] for codecs)
    for utt_id, codes in audiotok.open_tokens("tokens/"):   # numpy [K, T'] per utterance
        ...
    tok = audiotok.load_for_store("tokens/")      # the tokenizer that made a store
    audiotok.encode_corpus(items, tok, "tokens/")  # a corpus into a store (engine=, slice=)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from audiotok.store.reader import TokenStore
    from audiotok.tokenizer import Tokenizer


def load(name_or_path: str, **options: Any) -> Tokenizer:
    """A tokenizer by registry name (``mfcc-km100``, ``encodec-24khz``) or by path.

    Options go to the builder: ``device``, ``bandwidth``/``n_codebooks`` for codecs,
    ``codebook``/``layer`` for semantic tokenizers, ``weights`` (a local file), and
    ``pretrained=False`` for the architecture with random weights (tests).
    """
    from audiotok.factory import load_tokenizer

    return load_tokenizer(name_or_path, **options)


def load_for_store(directory: str, device: str = "auto", **overrides: Any) -> Tokenizer:
    """The tokenizer that made a token store, rebuilt from the recipe in its commit record."""
    from audiotok.factory import load_for_store as _load_for_store

    return _load_for_store(directory, device=device, **overrides)


def open_tokens(path: str) -> TokenStore:
    """Open a token store directory written by ``audiotok encode``."""
    from audiotok.store.reader import TokenStore

    return TokenStore(path)


def load_vocos(name_or_folder: str, device: str = "cpu") -> Any:
    """A Vocos decoder (``vocos-encodec-24khz``, ``vocos-mel-24khz`` or a folder with
    config.yaml + pytorch_model.bin): ``.decode_mel(mel)`` / ``.mel(wav)`` for the mel
    vocoder; EnCodec stores decode with ``audiotok decode STORE --decoder vocos``."""
    from audiotok.codecs.vocos import load_vocos as _load_vocos

    return _load_vocos(name_or_folder, device=device)


# the corpus runs (every engine, any slice): defined once, in audiotok.pipeline.api
_PIPELINE = ("encode_corpus", "extract_corpus")


def __getattr__(name: str) -> Any:
    if name in _PIPELINE:
        from audiotok.pipeline import api

        return getattr(api, name)
    raise AttributeError(f"module 'audiotok' has no attribute {name!r}")


__all__ = [
    "__version__",
    "encode_corpus",
    "extract_corpus",
    "load",
    "load_for_store",
    "load_vocos",
    "open_tokens",
]
