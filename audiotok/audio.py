"""Reading audio: soundfile decodes, we downmix to mono, check, and resample to float32.

Every failure is an :class:`AudioError` with a reason a person can read; callers record it
against the file's path and go on with the rest of the corpus.

Resampling is libsoxr's (``soxr``, quality "HQ"), torch-free, so decode worker processes never
import torch; the library's :func:`to_mono_tensor` uses the same downmix and resampler, so
``tok.encode(x, sr)`` sees the very samples the CLI reads from the same file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from audiotok.errors import AudioError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif", ".au", ".w64")
RESAMPLE_QUALITY = "HQ"  # libsoxr "high quality": 20-bit precision, passband to 91 % of Nyquist
# libsndfile's frame count is an estimate for these (MP3: from the bitrate, padding included;
# OGG: from the last page), so decoding decides the length. Other formats state it exactly
# (WAV/AIFF/AU/W64 data sizes, FLAC STREAMINFO), and fewer decoded frames mean a cut file.
ESTIMATED_LENGTH_FORMATS = frozenset({"MP3", "OGG"})
MAX_CHANNELS_TC = 8  # [T, C] is accepted by to_mono_tensor up to this many channels


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    num_frames: int  # exact, except for ESTIMATED_LENGTH_FORMATS (an estimate)
    channels: int
    format: str = ""

    @property
    def duration(self) -> float:
        return self.num_frames / self.sample_rate if self.sample_rate else 0.0

    @property
    def length_is_exact(self) -> bool:
        return self.format not in ESTIMATED_LENGTH_FORMATS


def probe(path: str) -> AudioInfo:
    """Header facts without decoding; raises AudioError for unreadable, empty or non-audio
    files (a file this user may not read says "permission denied")."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(8)
    except OSError as e:
        raise AudioError(path, _os_reason(e)) from None
    if size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    try:
        info = sf.info(path)
    except OSError as e:
        raise AudioError(path, _os_reason(e)) from None
    except Exception as e:  # noqa: BLE001 - libsndfile raises several types
        raise AudioError(path, f"not readable as audio ({_short(e)})") from None
    if info.frames <= 0 and info.format not in ESTIMATED_LENGTH_FORMATS:
        raise AudioError(path, "no audio samples (0 frames)")
    if info.format == "WAV":
        _check_riff_size(path, head, size)
    return AudioInfo(
        int(info.samplerate), int(max(info.frames, 0)), int(info.channels), str(info.format)
    )


def read(path: str, target_sr: int | None = None) -> np.ndarray:
    """Decode a file to mono float32 ``[T]`` at ``target_sr`` (native rate when None).

    ``len(result) == resampled_length(decoded frames, native rate, target_sr)``.
    """
    info = probe(path)
    try:
        data, sr = sf.read(path, dtype="float32", always_2d=True)
    except OSError as e:
        raise AudioError(path, _os_reason(e)) from None
    except Exception as e:  # noqa: BLE001
        raise AudioError(path, f"corrupt or truncated audio ({_short(e)})") from None
    _check_decoded_length(path, info, data.shape[0])
    if not np.isfinite(data).all():
        raise AudioError(path, "contains NaN or infinite samples")
    wav = downmix(data)
    if target_sr is not None and sr != target_sr:
        wav = resample(wav, sr, target_sr)
    return wav


def read_blocks(
    path: str, target_sr: int | None = None, block_seconds: float = 30.0
) -> Iterator[np.ndarray]:
    """Stream a file as mono float32 blocks at ``target_sr``; memory is bounded by the block.

    The blocks concatenated equal :func:`read` (to float32 rounding: libsoxr's stream is
    the same filter as its one-shot call). Blocks have about ``block_seconds`` of audio
    (the first and last differ by the resampler's delay). Failures raise AudioError, some
    only at the end (a cut WAV/FLAC is known once decoding stops): a consumer must treat a
    file as done only when the iterator is exhausted.

    Reads with ``SoundFile.read`` in a loop, not ``sf.blocks``: for an MP3 whose estimated
    length exceeds what decodes, ``sf.blocks`` pads the last block with stale samples.
    """
    if not block_seconds > 0:
        raise ValueError(f"block_seconds must be > 0, got {block_seconds}")
    info = probe(path)
    sr = info.sample_rate
    stream = None
    if target_sr is not None and target_sr != sr:
        import soxr

        stream = soxr.ResampleStream(sr, target_sr, 1, dtype="float32", quality=RESAMPLE_QUALITY)
    blocksize = max(1, int(block_seconds * sr))
    decoded = 0
    try:
        f = sf.SoundFile(path)
    except OSError as e:
        raise AudioError(path, _os_reason(e)) from None
    except Exception as e:  # noqa: BLE001
        raise AudioError(path, f"corrupt or truncated audio ({_short(e)})") from None
    with f:
        while True:
            try:
                block = f.read(blocksize, dtype="float32", always_2d=True)
            except Exception as e:  # noqa: BLE001
                raise AudioError(path, f"corrupt or truncated audio ({_short(e)})") from None
            if block.shape[0] == 0:
                break
            decoded += block.shape[0]
            if not np.isfinite(block).all():
                raise AudioError(path, "contains NaN or infinite samples")
            mono = downmix(block)
            out = stream.resample_chunk(mono) if stream is not None else mono
            if len(out):
                yield out
    _check_decoded_length(path, info, decoded)
    if stream is not None:
        tail = stream.resample_chunk(np.zeros(0, np.float32), last=True)
        if len(tail):
            yield tail


def downmix(data: np.ndarray) -> np.ndarray:
    """``[T, C]`` -> contiguous float32 ``[T]``: the channel mean (the one rule everywhere)."""
    if data.shape[1] == 1:
        return np.ascontiguousarray(data[:, 0], dtype=np.float32)
    return np.ascontiguousarray(data.mean(axis=1, dtype=np.float32), dtype=np.float32)


def resample(wav: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling of a mono float32 ``[T]`` with libsoxr (quality "HQ").

    The result has :func:`resampled_length` samples.
    """
    if orig_sr == target_sr:
        return wav
    import soxr

    x = np.ascontiguousarray(wav, dtype=np.float32)
    if x.shape[0] == 0:
        return x
    return np.asarray(soxr.resample(x, orig_sr, target_sr, quality=RESAMPLE_QUALITY))


def resampled_length(num_frames: int, orig_sr: int, target_sr: int) -> int:
    """The length libsoxr returns for ``num_frames`` input samples.

    libsoxr flushes to ``(uint64)(samples_in / factor + .5)`` with ``factor = in / out`` in
    double precision (``rate_flush`` in libsoxr's ``cr.c``); the same double arithmetic here
    gives the identical count, including ties such as 48260 samples 12 kHz -> 44.1 kHz.
    """
    if orig_sr == target_sr or num_frames <= 0:
        return max(num_frames, 0)
    return int(float(num_frames) / (float(orig_sr) / float(target_sr)) + 0.5)


def to_mono_tensor(wav: Any, sample_rate: int, target_sr: int) -> Any:
    """numpy or torch, ``[T]``, ``[C, T]`` or soundfile's ``[T, C]`` -> float32 torch ``[T]``
    at ``target_sr`` (on the CPU).

    A 2-D input is ``[C, T]`` when it has at most 8 rows and more columns than rows, and
    ``[T, C]`` when it has at most 8 columns and more rows than columns; any other shape is
    ambiguous and raises ValueError, as does an empty or non-finite waveform. Downmix and
    resampling are those of :func:`read`, so a file read by hand and passed here gives the
    samples the CLI encodes.
    """
    import torch

    if isinstance(wav, torch.Tensor):
        x = wav.detach().to("cpu", torch.float32).numpy()
    else:
        x = np.asarray(wav, dtype=np.float32)
    if x.size == 0:
        raise ValueError(f"empty waveform (shape {tuple(x.shape)})")
    if x.ndim == 2:
        rows, cols = x.shape
        if rows <= MAX_CHANNELS_TC and cols > rows:
            x = x.T  # [C, T] -> [T, C]
        elif not (cols <= MAX_CHANNELS_TC and rows > cols):
            raise ValueError(
                f"waveform of shape {tuple(x.shape)} is ambiguous: pass [T], [channels, T] or "
                f"[T, channels] with at most {MAX_CHANNELS_TC} channels and more samples than "
                "channels"
            )
        x = downmix(x)
    elif x.ndim != 1:
        raise ValueError(f"expected a waveform [T] or [channels, T], got shape {tuple(x.shape)}")
    if not np.isfinite(x).all():
        raise ValueError("waveform contains NaN or infinite samples")
    if sample_rate != target_sr:
        x = resample(x, sample_rate, target_sr)
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def write(path: str | os.PathLike[str], wav: np.ndarray, sample_rate: int) -> None:
    """16-bit audio at ``path`` (format from its suffix), written under a temporary name and
    renamed: a full disk leaves no truncated file, and is one AudiotokError (libsndfile only
    says "System error")."""
    import secrets

    from audiotok.errors import write_failed

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.stem}.{secrets.token_hex(4)}.part{p.suffix}")
    try:
        sf.write(str(tmp), np.clip(wav, -1.0, 1.0), sample_rate, subtype="PCM_16")
        os.replace(tmp, p)
    except sf.SoundFileError as e:
        tmp.unlink(missing_ok=True)
        raise write_failed(p, str(e)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _check_decoded_length(path: str, info: AudioInfo, decoded: int) -> None:
    if decoded == 0:
        raise AudioError(path, "no audio samples (0 frames)")
    if info.length_is_exact and info.num_frames and decoded < info.num_frames:
        raise AudioError(
            path, f"truncated: header declares {info.num_frames} frames, file holds {decoded}"
        )


def _check_riff_size(path: str, head: bytes, size: int) -> None:
    """libsndfile quietly reads what is left of a cut WAV; the RIFF size field tells."""
    if head[:4] == b"RIFF":
        field = int.from_bytes(head[4:8], "little")
        declared = field + 8
        # 0 and 0xFFFFFFFF mean "unknown" in WAVs written by streaming tools
        if field not in (0, 0xFFFFFFFF) and declared > size:
            raise AudioError(
                path, f"truncated: the WAV header declares {declared} bytes, the file holds {size}"
            )


def _os_reason(e: OSError) -> str:
    if isinstance(e, PermissionError):
        return "permission denied: this user may not read the file (check its mode and owner)"
    if isinstance(e, IsADirectoryError):
        return "is a folder, not an audio file"
    if isinstance(e, FileNotFoundError):
        return "does not exist (deleted or moved, or a broken symbolic link)"
    return f"cannot read: {e.strerror or e}"


def _short(e: Exception) -> str:
    msg = str(e).strip().replace("\n", " ")
    return msg[:160] if msg else type(e).__name__
