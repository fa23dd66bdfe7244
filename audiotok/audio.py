"""Reading audio: soundfile decodes, we downmix to mono, check, and resample to float32.

Every failure is an :class:`AudioError` with a reason a person can read; callers record it
against the file's path and go on with the rest of the corpus.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from audiotok.errors import AudioError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif", ".au", ".w64")


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    num_frames: int
    channels: int

    @property
    def duration(self) -> float:
        return self.num_frames / self.sample_rate if self.sample_rate else 0.0


def probe(path: str) -> AudioInfo:
    """Header facts without decoding; raises AudioError for empty or non-audio files."""
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise AudioError(path, f"cannot read: {e.strerror or e}") from None
    if size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    try:
        info = sf.info(path)
    except Exception as e:  # noqa: BLE001 - libsndfile raises several types
        raise AudioError(path, f"not readable as audio ({_short(e)})") from None
    if info.frames <= 0 and info.format not in ("MP3", "OGG"):
        raise AudioError(path, "no audio samples (0 frames)")
    if info.format == "WAV":
        _check_riff_size(path, size)
    return AudioInfo(int(info.samplerate), int(max(info.frames, 0)), int(info.channels))


def read(path: str, target_sr: int | None = None) -> np.ndarray:
    """Decode a file to mono float32 at ``target_sr`` (native rate when None)."""
    info = probe(path)
    try:
        data, sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception as e:  # noqa: BLE001
        raise AudioError(path, f"corrupt or truncated audio ({_short(e)})") from None
    if data.shape[0] == 0:
        raise AudioError(path, "no audio samples (0 frames)")
    if info.num_frames and data.shape[0] < info.num_frames:
        raise AudioError(
            path, f"truncated: header declares {info.num_frames} frames, file holds {data.shape[0]}"
        )
    if not np.isfinite(data).all():
        raise AudioError(path, "contains NaN or infinite samples")
    wav = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    wav = np.ascontiguousarray(wav, dtype=np.float32)
    if target_sr is not None and sr != target_sr:
        wav = resample(wav, sr, target_sr)
    return wav


def resample(wav: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited sinc resampling (torchaudio's, Hann window, 6 zero crossings)."""
    if orig_sr == target_sr:
        return wav
    import torch
    import torchaudio.functional as AF

    out = AF.resample(torch.from_numpy(np.ascontiguousarray(wav)), orig_sr, target_sr)
    return out.numpy().astype(np.float32, copy=False)


def resampled_length(num_frames: int, orig_sr: int, target_sr: int) -> int:
    """Length torchaudio's resample returns: ceil(n * target / orig)."""
    if orig_sr == target_sr:
        return num_frames
    g = math.gcd(orig_sr, target_sr)
    return -(-num_frames * (target_sr // g) // (orig_sr // g))


def to_mono_tensor(wav, sample_rate: int, target_sr: int):
    """Accept numpy or torch, [T] or [C, T]; return a float32 torch [T] at target_sr."""
    import torch

    x = torch.as_tensor(np.asarray(wav) if not isinstance(wav, torch.Tensor) else wav)
    x = x.to(torch.float32)
    if x.dim() == 2:
        x = x.mean(dim=0)
    elif x.dim() != 1:
        raise ValueError(f"expected a waveform [T] or [channels, T], got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("waveform contains NaN or infinite samples")
    if sample_rate != target_sr:
        import torchaudio.functional as AF

        x = AF.resample(x, sample_rate, target_sr)
    return x


def write(path: str, wav: np.ndarray, sample_rate: int) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    sf.write(path, np.clip(wav, -1.0, 1.0), sample_rate, subtype="PCM_16")


def _check_riff_size(path: str, size: int) -> None:
    """libsndfile quietly reads what is left of a cut WAV; the RIFF size field tells."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:4] == b"RIFF":
        field = int.from_bytes(head[4:8], "little")
        declared = field + 8
        # 0 and 0xFFFFFFFF mean "unknown" in WAVs written by streaming tools
        if field not in (0, 0xFFFFFFFF) and declared > size:
            raise AudioError(
                path, f"truncated: the WAV header declares {declared} bytes, the file holds {size}"
            )


def _short(e: Exception) -> str:
    msg = str(e).strip().replace("\n", " ")
    return msg[:160] if msg else type(e).__name__
