"""Importing released unit HiFi-GANs (fairseq CodeHiFiGAN, speech-resynthesis, textlesslib).

Their checkpoint is a torch pickle ``{"generator": state_dict}`` (speech-resynthesis
``train.py`` ``save_checkpoint``; textlesslib ``CodeHiFiGANVocoder`` reads
``state_dict["generator"]``) next to a JSON config. The file is first read with
``torch.load(weights_only=True)``; only a file that needs real unpickling requires
``allow_pickle=True`` (``--allow-pickle``), and is refused otherwise. The weights are converted
once into an audiotok folder (config.json + model.safetensors).

Key names (fairseq ``codehifigan.py`` / ``hifigan.py``, textlesslib ``generator.py``):
``dict.weight`` (unit embedding), ``spkr.weight`` (speaker table, or ``spkr.weight/bias`` of
the Linear for external speaker vectors), ``style.weight`` (Expresso styles), ``conv_pre.*``,
``ups.N.*``, ``resblocks.N.convs1.M.*`` / ``convs2.M.*``, ``conv_post.*`` with weight norm as
``weight_g``/``weight_v`` (``torch.nn.utils.weight_norm``) or
``parametrizations.weight.original0/1`` (the newer API), and ``dur_predictor.conv1.0.*``,
``ln1.*``, ``conv2.0.*``, ``ln2.*``, ``proj.*`` (``VariancePredictor``). Config keys:
``num_embeddings``, ``embedding_dim``, ``model_in_dim``, ``upsample_rates``,
``upsample_kernel_sizes``, ``upsample_initial_channel``, ``resblock`` ("1"),
``resblock_kernel_sizes``, ``resblock_dilation_sizes``, ``sampling_rate``, ``code_hop_size``,
``multispkr``, ``embedder_params``/``embedder_dim``, ``multistyle``, ``dur_predictor_params``
(``encoder_embed_dim``, ``var_pred_hidden_dim``, ``var_pred_kernel_size``,
``var_pred_dropout``), ``f0`` (F0-conditioned vocoders are not supported).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import torch

from audiotok.errors import AudiotokError, UnsafeCheckpointError
from audiotok.vocoders.config import VocoderConfig

# their prefix -> ours (longest first where they nest)
PREFIXES = (
    ("dur_predictor.conv1.0.", "duration.conv1."),
    ("dur_predictor.conv2.0.", "duration.conv2."),
    ("dur_predictor.ln1.", "duration.ln1."),
    ("dur_predictor.ln2.", "duration.ln2."),
    ("dur_predictor.proj.", "duration.proj."),
    ("conv_pre.", "generator.conv_pre."),
    ("ups.", "generator.ups."),
    ("resblocks.", "generator.resblocks."),
    ("conv_post.", "generator.conv_post."),
    ("dict.", "unit_embed."),
    ("style.", "style_embed."),
)
WN_OLD = ("weight_g", "weight_v")
WN_NEW = ("parametrizations.weight.original0", "parametrizations.weight.original1")


def read_checkpoint(path: str | Path, allow_pickle: bool = False) -> dict[str, Any]:
    """The generator state dict of a released checkpoint (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise AudiotokError(f"checkpoint {path} does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if not allow_pickle:
            raise UnsafeCheckpointError(
                f"{path} is a pickle that needs arbitrary code to load "
                f"({str(e).splitlines()[0][:160]}); unpickle it only if you trust its "
                "source, with --allow-pickle (allow_pickle=True)."
            ) from None
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - zip/format errors of torch.load
        raise AudiotokError(f"{path} is not a torch checkpoint ({type(e).__name__}: {e})") from None
    state = obj.get("generator", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict) or "dict.weight" not in state:
        raise AudiotokError(
            f"{path} holds no CodeHiFiGAN generator (expected a 'generator' state dict with "
            "'dict.weight')"
        )
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def weight_from_norm(g: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``g * v / ||v||`` with the norm over all dims but 0 (``weight_norm``'s default dim)."""
    norm = v.flatten(1).norm(dim=1).view(-1, *([1] * (v.dim() - 1)))
    return g * (v / norm)


def fold_weight_norm_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for k, v in state.items():
        for g_name, v_name in (WN_OLD, WN_NEW):
            if k.endswith("." + g_name):
                base = k[: -len(g_name)]
                out[base + "weight"] = weight_from_norm(v, state[base + v_name])
                break
            if k.endswith("." + v_name):
                break
        else:
            out[k] = v
    return out


def map_keys(state: dict[str, torch.Tensor], speaker_vector: bool) -> dict[str, torch.Tensor]:
    """Their (folded) names -> ours; unknown keys are an error naming them."""
    out, unknown = {}, []
    for k, v in state.items():
        if k.startswith("spkr."):
            out[("speaker_proj." if speaker_vector else "speaker_embed.") + k[5:]] = v
            continue
        for theirs, ours in PREFIXES:
            if k.startswith(theirs):
                out[ours + k[len(theirs) :]] = v
                break
        else:
            unknown.append(k)
    if unknown:
        raise AudiotokError(
            f"checkpoint keys audiotok does not know: {', '.join(sorted(unknown)[:8])} (F0 or "
            "other conditioning is not supported)"
        )
    return out


def config_from(
    cfg: dict[str, Any],
    state: dict[str, torch.Tensor],
    frame_rate: float | None = None,
    speakers: list[str] | None = None,
    styles: list[str] | None = None,
    source: str = "",
) -> VocoderConfig:
    if cfg.get("f0") or cfg.get("f0_quant_num_bin"):
        raise AudiotokError("F0-conditioned vocoders are not supported (config has 'f0')")
    if str(cfg.get("resblock", "1")) != "1":
        raise AudiotokError(f"resblock type {cfg.get('resblock')!r} is not supported (only '1')")
    sr = int(cfg.get("sampling_rate", 16000))
    if "code_hop_size" in cfg:
        from_cfg = sr / int(cfg["code_hop_size"])
        if frame_rate is not None and abs(frame_rate - from_cfg) > 1e-6:
            raise AudiotokError(
                f"frame rate {frame_rate:g} Hz contradicts the config's code_hop_size "
                f"{cfg['code_hop_size']} at {sr} Hz ({from_cfg:g} Hz)"
            )
        frame_rate = from_cfg
    if frame_rate is None:
        raise AudiotokError("the config has no code_hop_size: pass the unit frame rate")
    speaker_vector = bool(cfg.get("embedder_params"))
    emb = int(cfg["embedding_dim"])
    dur = cfg.get("dur_predictor_params") or {}
    if dur:
        if int(dur.get("encoder_embed_dim", emb)) != emb:
            raise AudiotokError("dur_predictor_params.encoder_embed_dim != embedding_dim")
        if int(dur.get("var_pred_kernel_size", 3)) != 3:
            # upstream pads its second conv by 1 whatever the kernel: only 3 keeps the length
            raise AudiotokError("only duration predictors with var_pred_kernel_size 3 import")
    c = VocoderConfig(
        num_units=int(cfg["num_embeddings"]),
        sample_rate=sr,
        frame_rate=float(frame_rate),
        embedding_dim=emb,
        upsample_initial_channel=int(cfg["upsample_initial_channel"]),
        upsample_rates=tuple(cfg["upsample_rates"]),
        upsample_kernel_sizes=tuple(cfg["upsample_kernel_sizes"]),
        resblock_kernel_sizes=tuple(cfg["resblock_kernel_sizes"]),
        resblock_dilation_sizes=tuple(tuple(d) for d in cfg["resblock_dilation_sizes"]),
        num_speakers=0
        if speaker_vector or "spkr.weight" not in state
        else state["spkr.weight"].shape[0],
        speaker_dim=state["spkr.weight"].shape[1] if speaker_vector else 0,
        num_styles=state["style.weight"].shape[0] if "style.weight" in state else 0,
        speakers=list(speakers or []),
        styles=list(styles or []),
        duration_predictor=bool(dur),
        duration_hidden_dim=int(dur.get("var_pred_hidden_dim", 128)),
        duration_kernel_size=int(dur.get("var_pred_kernel_size", 3)),
        duration_dropout=float(dur.get("var_pred_dropout", 0.5)),
        source=source,
    )
    if "model_in_dim" in cfg and int(cfg["model_in_dim"]) != c.model_in_dim:
        raise AudiotokError(
            f"model_in_dim {cfg['model_in_dim']} != embedding_dim x inputs ({c.model_in_dim})"
        )
    return c


def _names(path: str | Path | None) -> list[str]:
    if path is None:
        return []
    return [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]


def import_checkpoint(
    checkpoint: str | Path,
    config: str | Path,
    out_dir: str | Path,
    *,
    allow_pickle: bool = False,
    frame_rate: float | None = None,
    speakers_path: str | Path | None = None,
    styles_path: str | Path | None = None,
    source: str = "",
) -> VocoderConfig:
    """Convert a released CodeHiFiGAN checkpoint + config into ``out_dir`` (config.json +
    model.safetensors); returns the config. Loading the result checks every tensor's shape."""
    from audiotok.vocoders.loading import load_folder, save
    from audiotok.vocoders.model import Vocoder

    raw = read_checkpoint(checkpoint, allow_pickle)
    try:
        cfg = json.loads(Path(config).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise AudiotokError(f"cannot read vocoder config {config}: {e}") from None
    folded = fold_weight_norm_keys(raw)
    vc = config_from(
        cfg,
        folded,
        frame_rate,
        _names(speakers_path),
        _names(styles_path),
        source or str(Path(checkpoint).resolve()),
    )
    state = map_keys(folded, speaker_vector=vc.speaker_dim > 0)
    with torch.device("meta"):
        shell = Vocoder(vc)
    expected = set(shell.state_dict())
    if set(state) != expected:
        missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
        raise AudiotokError(
            f"{checkpoint} does not match its config: missing {missing[:5]}, unexpected {extra[:5]}"
        )
    save(shell, out_dir, state)
    load_folder(out_dir)  # shapes checked against the config
    return vc


def build_released(entry: Any, device: str = "cpu", allow_pickle: bool = False) -> Any:
    """Builder of registry vocoders: the converted folder, or a one-time conversion."""
    from audiotok import weights
    from audiotok.errors import MissingWeightsError
    from audiotok.vocoders.config import WEIGHTS_FILE
    from audiotok.vocoders.loading import CONVERTED, load_folder

    root = weights.model_dir(entry)
    converted = root / CONVERTED
    if (converted / WEIGHTS_FILE).is_file():
        return load_folder(converted, device)
    paths = {}
    for wf in entry.files:
        path = weights.expected_path(entry, wf)
        if not path.is_file():
            raise MissingWeightsError(weights.missing_message(entry, wf))
        weights.verify(path, wf, entry.name)
        paths[wf.filename] = path
    ckpt, cfg = (paths[entry.files[0].filename], paths[entry.files[1].filename])
    extra = {p.name: p for p in paths.values()}
    try:
        import_checkpoint(
            ckpt,
            cfg,
            converted,
            allow_pickle=allow_pickle,
            speakers_path=next((v for k, v in extra.items() if k.endswith("speakers.txt")), None),
            styles_path=next((v for k, v in extra.items() if k.endswith("styles.txt")), None),
            frame_rate=entry.frame_rate,
            source=entry.source,
        )
    except UnsafeCheckpointError as e:
        raise UnsafeCheckpointError(
            f"{e} Once: audiotok vocoder import {ckpt} --config {cfg} -o {converted} "
            "--allow-pickle (then it loads as safetensors)"
        ) from None
    return load_folder(converted, device)
