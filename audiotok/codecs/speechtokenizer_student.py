"""Students: SpeechTokenizer-style codecs that audiotok trains, saved as a folder.

A student folder holds ``model.safetensors`` (the :class:`HybridCodecModel` state dict) and
``config.json`` (:class:`HybridCodecConfig` with ``"format": "audiotok-hybrid-codec"``: the
architecture, the quantiser, and the teacher it was distilled from). It loads as a hybrid
tokenizer (``audiotok.load("st/")`` once the factory routes folders here, or
:func:`load_student`), codebook 0 semantic; the projection to the teacher is kept in the
weights but unused at inference. Sample rate and hop are free: ``strides=[8, 8, 5, 4]`` at
16 kHz is a 12.5 Hz student (hop 1280).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def is_student_dir(path: str | Path) -> bool:
    """True for a folder whose ``config.json`` declares an audiotok hybrid codec."""
    from audiotok.codecs.speechtokenizer_model import FORMAT

    cfg = Path(path) / CONFIG
    if not cfg.is_file():
        return False
    try:
        return json.loads(cfg.read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def new_student(config: Any, seed: int = 0) -> Any:
    """An untrained :class:`HybridCodecModel` (codebooks wait for k-means on the first batch)."""
    from audiotok.codecs.speechtokenizer_model import HybridCodecConfig, HybridCodecModel
    from audiotok.rng import seeded

    cfg = config if isinstance(config, HybridCodecConfig) else HybridCodecConfig(**config)
    with seeded(seed):
        return HybridCodecModel(cfg)


def save_student(model: Any, folder: str | Path) -> Path:
    """Write ``model.safetensors`` + ``config.json`` into ``folder`` (atomically each)."""
    import os

    from audiotok.store.files import save_safetensors

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_safetensors(state, folder / WEIGHTS)
    tmp_cfg = folder / (CONFIG + ".tmp")
    tmp_cfg.write_text(json.dumps(model.cfg.to_dict(), indent=2))
    os.replace(tmp_cfg, folder / CONFIG)
    return folder


def load_student(
    folder: str | Path, *, n_codebooks: int | None = None, device: str = "cpu", **unknown: Any
) -> Any:
    """A student folder -> :class:`~audiotok.codecs.speechtokenizer.SpeechTokenizerCodec`.

    Options: ``n_codebooks`` (a prefix of the codebooks), ``device``; others are refused."""
    if unknown:
        raise AudiotokError(
            f"a trained hybrid codec does not take the option(s) {', '.join(sorted(unknown))} "
            "(it takes: n_codebooks, device)"
        )
    from audiotok.folder_formats import read_config, require

    folder = Path(folder).expanduser()
    if not (folder / CONFIG).is_file():
        raise AudiotokError(
            f"{folder} is not a trained hybrid codec (no {CONFIG} with "
            '"format": "audiotok-hybrid-codec")'
        )
    require(folder, "hybrid")  # before importing torch: a refused folder costs nothing
    from safetensors.torch import load_file

    from audiotok.codecs.base import choose_n_codebooks
    from audiotok.codecs.speechtokenizer import SpeechTokenizerCodec
    from audiotok.codecs.speechtokenizer_model import HybridCodecConfig, HybridCodecModel
    from audiotok.weights import sha256_file

    weights = folder / WEIGHTS
    if not weights.is_file():
        raise AudiotokError(f"{folder} has no {WEIGHTS}: training did not finish saving")
    cfg = HybridCodecConfig.from_dict(read_config(folder))
    model = HybridCodecModel(cfg)
    try:
        model.load_state_dict(load_file(str(weights)))
    except RuntimeError as e:
        raise AudiotokError(
            f"{weights} does not match {folder / CONFIG}: {str(e).splitlines()[0][:200]}"
        ) from None
    vq = model.vq
    if not all(bool(b.item()) for n, b in vq.named_buffers() if n.endswith("inited")):
        raise AudiotokError(f"{folder} holds a codec whose codebooks were never trained")
    model.eval()
    k = choose_n_codebooks(cfg.n_q, cfg.frame_rate, cfg.codebook_size, n_codebooks, None)
    codec = SpeechTokenizerCodec(model, folder.name, k, sha256_file(weights))
    codec.weights_path = str(weights.resolve())
    return codec.to(device)
