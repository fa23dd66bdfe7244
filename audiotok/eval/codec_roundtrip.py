"""``roundtrip``: a codec's encode -> decode -> score on a corpus, in one call."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError
from audiotok.eval.result import EvalResult
from audiotok.eval.scoring import check_metrics, pair_decoded, scored


def source_items(corpus: str | os.PathLike | Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """(items, problems) of a corpus folder or manifest (or items already listed)."""
    from audiotok.pipeline.api import scan_inputs

    items: list[Any]
    problems: list[Any] = []
    if isinstance(corpus, (str, os.PathLike)):
        items, problems = scan_inputs([corpus])
    else:
        items = list(corpus)
    if not items:
        raise AudiotokError(f"no audio files found in {corpus}")
    return items, problems


def where(corpus: Any) -> str:
    return str(corpus) if isinstance(corpus, (str, os.PathLike)) else f"{len(corpus)} files"


def encode_for_eval(
    items: Sequence[Any],
    problems: Sequence[Any],
    tokenizer: Any,
    store: Path,
    options: Any,
    on_error: Any,
) -> tuple[Any, list[dict[str, str]]]:
    """The corpus through the pipeline (decode workers, failure policy) into ``store``:
    (the opened store, the files that failed with their reasons)."""
    from audiotok import open_tokens
    from audiotok.pipeline.api import encode_corpus
    from audiotok.pipeline.local import Events

    run = encode_corpus(
        items,
        tokenizer,
        store,
        options=options,
        events=Events(on_error=on_error),
        overwrite=True,
        problems=problems,
        run_params={"weights": getattr(tokenizer, "weights_path", None)},
    )
    return open_tokens(str(store)), list(run.errors)


def roundtrip(
    corpus: str | os.PathLike | Sequence[Any],
    tokenizer: Any,
    work_dir: str | Path,
    *,
    metrics: str | Sequence[str] | None = None,
    options: Any = None,
    on_error: Any = None,
    batch_frames: int = 6000,
) -> EvalResult:
    """How well a codec reconstructs a corpus: encode it with ``tokenizer`` (an acoustic or
    hybrid codec) through the pipeline into ``work_dir/tokens``, decode the store with the
    same codec into ``work_dir/decoded`` (:func:`audiotok.decoding.decode_store`), and score
    each decoded file against its source as :func:`audiotok.eval.recon` does. Files that
    cannot be read or encoded are reported (``on_error(item, reason)`` and
    ``encode_errors``) and skipped. ``options``: the pipeline's
    :class:`~audiotok.pipeline.local.RunOptions` (decode workers, batch size); its
    ``num_workers`` also score pairs in parallel."""
    from audiotok.decoding.loop import decode_store
    from audiotok.pipeline.local import RunOptions

    names = check_metrics(metrics)
    opts = options or RunOptions()
    if tokenizer.spec.kind == "semantic":
        raise AudiotokError(
            f"{tokenizer.spec.name} makes semantic units; roundtrip needs a codec "
            "(semantic units: audiotok.eval.unit_resynth with a vocoder)"
        )
    items, problems = source_items(corpus)
    work = Path(work_dir)
    store, errors = encode_for_eval(items, problems, tokenizer, work / "tokens", opts, on_error)
    decode_store(store, tokenizer, work / "decoded", batch_frames=batch_frames)
    recipe = getattr(tokenizer, "recipe", None)
    return scored(
        f"round trip: {store.spec.name} on {where(corpus)}",
        pair_decoded(items, work / "decoded", store.ids()),
        names,
        num_workers=opts.num_workers,
        bitrate_bps=store.spec.bitrate,
        spec=store.spec.to_dict(),
        recipe=recipe.to_dict() if recipe is not None else None,
        encode_errors=errors,
    )
