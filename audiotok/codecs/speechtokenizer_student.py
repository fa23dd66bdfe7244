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
    except (OSError, ValueError, AttributeError, RecursionError):
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
    from audiotok.folder_formats import require

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
    from audiotok.weights import sha256_file

    weights = folder / WEIGHTS
    if not weights.is_file():
        raise AudiotokError(f"{folder} has no {WEIGHTS}: training did not finish saving")
    model = _build(folder / CONFIG, weights)
    try:
        state = load_file(str(weights))
    except Exception as e:  # noqa: BLE001 - safetensors' own error type is not importable
        raise AudiotokError(f"{weights} is not a readable safetensors file: {_line(e)}") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise AudiotokError(f"{weights} does not match {folder / CONFIG}: {_line(e)}") from None
    cfg, vq = model.cfg, model.vq
    if not all(bool(b.item()) for n, b in vq.named_buffers() if n.endswith("inited")):
        raise AudiotokError(f"{folder} holds a codec whose codebooks were never trained")
    model.eval()
    k = choose_n_codebooks(cfg.n_q, cfg.frame_rate, cfg.codebook_size, n_codebooks, None)
    codec = SpeechTokenizerCodec(model, folder.name, k, sha256_file(weights))
    codec.weights_path = str(weights.resolve())
    return codec.to(device)


def _line(e: BaseException) -> str:
    return " ".join(str(e).split())[:200] or type(e).__name__


MAX_BLOCKS = 512  # residual units + LSTM layers + codebooks (SpeechTokenizer: 14)


def _build(config: Path, weights: Path) -> Any:
    """The model ``config`` describes, built only once its size is known to fit ``weights``
    (a size field of a damaged config would otherwise allocate whatever it says)."""
    import torch

    from audiotok.codecs.speechtokenizer_model import HybridCodecConfig, HybridCodecModel

    try:
        d = json.loads(config.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as e:
        raise AudiotokError(f"cannot read {config}: {_line(e)}") from None
    if not isinstance(d, dict):
        raise AudiotokError(f"{config}: a hybrid codec config is a JSON object")
    try:
        cfg = HybridCodecConfig.from_dict(d)
        # the size check below builds the model on the meta device, in time linear in its
        # layers: a damaged count (n_residual_layers 1000 took 5 s, found by tests/fuzz)
        # is refused first; SpeechTokenizer has 4 x 1 residual units, 2 LSTM layers, 8 RVQ
        blocks = len(cfg.strides) * int(cfg.n_residual_layers) + int(cfg.lstm_layers)
        if blocks + int(cfg.n_q) > MAX_BLOCKS:
            raise AudiotokError(
                f"it describes {blocks} residual/LSTM layers and {cfg.n_q} codebooks, more "
                f"than the {MAX_BLOCKS} a hybrid codec config may hold"
            )
        with torch.device("meta"):
            size = sum(
                t.numel() * t.element_size() for t in HybridCodecModel(cfg).state_dict().values()
            )
        if size > weights.stat().st_size:
            raise AudiotokError(
                f"the model it describes takes {size} bytes, more than {weights.name} holds"
            )
        from audiotok.rng import seeded

        with seeded(0):  # initial values are overwritten by the weights; the caller's RNG stays
            return HybridCodecModel(cfg)
    except AudiotokError as e:  # one line, whatever strings the config holds
        raise AudiotokError(f"{config}: {_line(e)}") from None
    except (RuntimeError, ValueError, TypeError, OverflowError, ZeroDivisionError) as e:
        raise AudiotokError(f"{config} does not describe a hybrid codec: {_line(e)}") from None
