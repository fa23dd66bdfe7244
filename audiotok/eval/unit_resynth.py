"""``resynth``: semantic units -> a unit vocoder -> scores, with the unit error rate.

The unit error rate needs no ASR model: the resynthesis is re-tokenized with the tokenizer
that made the units (through the pipeline, as the corpus was) and compared with the original
units (:func:`audiotok.vocoders.resynth.unit_error_rate`: ``uer`` on deduplicated units,
``uer_frames`` frame by frame).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.eval.codec_roundtrip import encode_for_eval, source_items, where
from audiotok.eval.result import EvalResult
from audiotok.eval.scoring import check_metrics, pair_decoded, scored

UER_NOTE = (
    "UER: unit error rate of the resynthesis re-tokenized with the same tokenizer "
    "(deduplicated units; lower is better)."
)


def retokenize(
    pairs: Sequence[tuple[str, str, str]], tokenizer: Any, options: Any
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Units of each decoded file (the pipeline's load workers and failure policy):
    ({id: units [T']}, {id: why it failed})."""
    from audiotok.corpus import AudioItem
    from audiotok.pipeline.batch import TokenBatchFn
    from audiotok.pipeline.local import stream

    items = [AudioItem(utt, dec, "") for utt, _, dec in pairs]
    failed: dict[str, str] = {}
    units = {
        it.id: codes[0]
        for it, _, codes in stream(
            items, TokenBatchFn(tokenizer), lambda it, why: failed.__setitem__(it.id, why), options
        )
    }
    return units, failed


def unit_scores(
    ref: np.ndarray, hyp: np.ndarray | None, failed: str | None
) -> tuple[dict[str, float], dict[str, str]]:
    from audiotok.vocoders.resynth import unit_error_rate

    if hyp is None:
        return {}, {"uer": f"re-tokenizing the resynthesis failed: {failed}"}
    try:
        return {
            "uer": unit_error_rate(ref, hyp, dedup_units=True),
            "uer_frames": unit_error_rate(ref, hyp, dedup_units=False),
        }, {}
    except ValueError as e:
        return {}, {"uer": str(e)}


def resynth(
    corpus: str | os.PathLike | Sequence[Any],
    tokenizer: Any,
    vocoder: Any,
    work_dir: str | Path,
    *,
    metrics: str | Sequence[str] | None = None,
    speaker: Any = None,
    options: Any = None,
    on_error: Any = None,
    title: str | None = None,
) -> EvalResult:
    """How well a unit vocoder resynthesises a corpus from ``tokenizer``'s semantic units:
    encode the corpus through the pipeline (``work_dir/tokens``), vocode the store
    (``work_dir/decoded``, :func:`audiotok.decoding.decode_store`), score each file as
    :func:`audiotok.eval.recon` does, and add the unit error rate of the resynthesis
    re-tokenized with ``tokenizer``. The vocoder must have been trained on these tokens
    (checked first). Files that cannot be read or encoded are reported and skipped; the
    result carries the unit usage of the corpus (``unit_usage``)."""
    from audiotok.decoding.loop import decode_store
    from audiotok.decoding.vocoder import VocoderDecoder
    from audiotok.pipeline.local import RunOptions

    names = check_metrics(metrics)
    opts = options or RunOptions()
    recipe = getattr(tokenizer, "recipe", None)
    vocoder.check_tokens(tokenizer.spec, recipe.to_dict() if recipe is not None else None)
    items, problems = source_items(corpus)
    work = Path(work_dir)
    store, errors = encode_for_eval(items, problems, tokenizer, work / "tokens", opts, on_error)
    decode_store(store, VocoderDecoder(vocoder, speaker=speaker), work / "decoded")
    pairing = pair_decoded(items, work / "decoded", store.ids())
    hyp, failed = retokenize(pairing.pairs, tokenizer, opts)
    size = store.spec.codebook_size
    usage = np.zeros(size, dtype=np.int64)
    extra = {}
    for utt, codes in store:
        usage += np.bincount(np.asarray(codes[0], dtype=np.int64), minlength=size)
        extra[utt] = unit_scores(codes[0], hyp.get(utt), failed.get(utt))
    return scored(
        title or f"resynthesis: {getattr(vocoder, 'name', 'vocoder')} on {where(corpus)}",
        pairing,
        names,
        num_workers=opts.num_workers,
        bitrate_bps=store.spec.bitrate,
        extra=extra,
        extra_names=("uer",),
        spec=store.spec.to_dict(),
        recipe=recipe.to_dict() if recipe is not None else None,
        encode_errors=errors,
        unit_usage={store.spec.name: usage.tolist()},
        notes=(UER_NOTE,),
    )


def vocoder_and_tokenizer(vocoder: str, tokenizer: str | None, device: str) -> tuple[Any, Any]:
    """A unit vocoder (folder or registry name) and the semantic tokenizer to evaluate it
    with: ``tokenizer`` when given, else the one the vocoder records it was trained on."""
    from audiotok.errors import AudiotokError
    from audiotok.recipe import recipe_from_dict
    from audiotok.tokenizer import resolve_device
    from audiotok.vocoders import load

    dev = resolve_device(device)
    voc = load(vocoder, device=dev)
    if tokenizer is not None:
        from audiotok.factory import tokenizer_for

        return voc, tokenizer_for("semantic", tokenizer, device=device)
    if not voc.config.tokenizer:
        raise AudiotokError(f"{vocoder} does not record its tokenizer: pass --tokenizer")
    from audiotok.factory import build

    return voc, build(recipe_from_dict(voc.config.tokenizer), device=dev)


def score_resynthesis(
    ref: np.ndarray,
    ref_sr: int,
    wav: np.ndarray,
    sr: int,
    ref_units: Sequence[int] | np.ndarray,
    tokenizer: Any,
    metrics: Sequence[str] | None = None,
) -> tuple[dict[str, float], dict[str, str]]:
    """(scores, errors) of one resynthesised utterance: the reconstruction metrics of
    ``eval recon`` (:func:`audiotok.metrics.recon.score_signals`) plus ``uer`` (deduplicated)
    and ``uer_frames`` (frame rate): ``wav`` re-tokenized with ``tokenizer`` (the tokenizer
    that made ``ref_units``) against ``ref_units``."""
    from audiotok.metrics import METRICS
    from audiotok.metrics.recon import score_signals

    scores, errors = score_signals(ref, ref_sr, wav, sr, tuple(metrics or METRICS))
    hyp = np.asarray(tokenizer.encode(wav, sr)).reshape(-1)
    from audiotok.vocoders.resynth import unit_error_rate

    try:
        scores["uer"] = unit_error_rate(ref_units, hyp, dedup_units=True)
        scores["uer_frames"] = unit_error_rate(ref_units, hyp, dedup_units=False)
    except ValueError as e:
        errors["uer"] = str(e)
    return scores, errors
