"""Byte streams in and out of the streaming codecs (what ``audiotok stream`` runs).

Audio in: a WAV stream (recognised by its ``RIFF`` header; the data chunk is read to the end
of the input whatever its declared size, as ``sox ... -t wav -`` writes 0 or 0xFFFFFFFF
there) or raw PCM (``s16le`` or ``f32le``, ``--rate``, ``--channels``). Channels are averaged
to mono; another rate is resampled on the fly by soxr's streaming resampler.

Codes out: ``text``, one line per frame with the K codes separated by spaces; or ``binary``,
K little-endian uint16 per frame. Each read of the input is pushed at once and what it
completes is written and flushed, so a pipe carries codes as they are ready.
Audio out (decode): ``s16le``, ``f32le`` or ``wav`` (a header with an open size, then PCM).
"""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from audiotok.errors import AudiotokError

ENCODINGS: dict[str, np.dtype[Any]] = {"s16le": np.dtype("<i2"), "f32le": np.dtype("<f4")}
CODE_FORMATS = ("text", "binary")
AUDIO_OUT = ("s16le", "f32le", "wav")


@dataclass
class RawFormat:
    rate: int
    channels: int = 1
    encoding: str = "s16le"


def _read(src: BinaryIO, n: int) -> bytes:
    """What is available, up to n bytes (b'' at the end): a pipe gives data as it arrives."""
    read1 = getattr(src, "read1", None)
    return read1(n) if read1 is not None else src.read(n)


def _read_exactly(src: BinaryIO, n: int) -> bytes:
    out = b""
    while len(out) < n:
        b = _read(src, n - len(out))
        if not b:
            break
        out += b
    return out


def _wav_header(src: BinaryIO, head: bytes) -> RawFormat:
    """Parse a WAV header whose first 12 bytes are ``head``; leaves ``src`` at the data."""
    if head[8:12] != b"WAVE":
        raise AudiotokError("the input starts with RIFF but is not a WAV stream")
    fmt: RawFormat | None = None
    while True:
        hdr = _read_exactly(src, 8)
        if len(hdr) < 8:
            raise AudiotokError("the WAV stream ended before its data chunk")
        cid, size = hdr[:4], struct.unpack("<I", hdr[4:])[0]
        if cid == b"data":
            if fmt is None:
                raise AudiotokError("the WAV stream has no fmt chunk before its data")
            return fmt
        body = _read_exactly(src, size + (size & 1))
        if cid == b"fmt ":
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format
                tag = struct.unpack("<H", body[24:26])[0]
            enc = {(1, 16): "s16le", (3, 32): "f32le"}.get((tag, bits))
            if enc is None:
                raise AudiotokError(
                    f"WAV streams of 16-bit PCM or 32-bit float only (got format {tag}, "
                    f"{bits} bits): convert with sox ... -e signed -b 16 -t wav -"
                )
            fmt = RawFormat(rate, channels, enc)


class AudioReader:
    """Mono float32 blocks at ``rate`` from a WAV or raw PCM byte stream."""

    def __init__(self, src: BinaryIO, rate: int, raw: RawFormat | None, block_bytes: int = 8192):
        self.src, self.block = src, block_bytes
        head = _read_exactly(src, 12)
        self.head = b""
        if head[:4] == b"RIFF":
            self.fmt = _wav_header(src, head)
        elif raw is None:
            raise AudiotokError(
                "the input is not a WAV stream; for raw PCM give --rate (and --channels, "
                "--encoding)"
            )
        else:
            self.fmt, self.head = raw, head
        if self.fmt.encoding not in ENCODINGS:
            raise AudiotokError(f"--encoding must be one of {', '.join(ENCODINGS)}")
        self.dtype = ENCODINGS[self.fmt.encoding]
        self.frame_bytes = self.dtype.itemsize * self.fmt.channels
        self.resampler = None
        if self.fmt.rate != rate:
            import soxr

            self.resampler = soxr.ResampleStream(self.fmt.rate, rate, 1, dtype="float32")

    def _convert(self, data: bytes, last: bool) -> np.ndarray:
        x = np.frombuffer(data, self.dtype).reshape(-1, self.fmt.channels).astype(np.float32)
        if self.dtype.kind == "i":
            x /= 32768.0
        mono = x.mean(axis=1)
        if self.resampler is not None:
            mono = self.resampler.resample_chunk(mono, last=last)
        return np.ascontiguousarray(mono, dtype=np.float32)

    def blocks(self):
        pending = self.head
        while True:
            data = _read(self.src, self.block)
            if not data:
                break
            pending += data
            cut = len(pending) - len(pending) % self.frame_bytes
            if cut:
                yield self._convert(pending[:cut], last=False)
                pending = pending[cut:]
        if self.resampler is not None or pending:
            yield self._convert(pending[: len(pending) - len(pending) % self.frame_bytes], True)


def _write_codes(dst: BinaryIO, codes: Any, fmt: str) -> None:
    """codes[K, n] -> n frames."""
    if codes.shape[-1] == 0:
        return
    c = codes.numpy().T  # [n, K]
    if fmt == "text":
        dst.write("".join(" ".join(map(str, row)) + "\n" for row in c.tolist()).encode())
    else:
        dst.write(c.astype("<u2").tobytes())
    dst.flush()


def encode_pipe(
    tok: Any, src: BinaryIO, dst: BinaryIO, raw: RawFormat | None, fmt: str = "text"
) -> int:
    """Stream audio from ``src`` to codes on ``dst``; returns the number of frames."""
    if fmt not in CODE_FORMATS:
        raise AudiotokError(f"--format must be one of {', '.join(CODE_FORMATS)}")
    if fmt == "binary" and tok.codebook_size > 65536:
        raise AudiotokError("binary frames hold uint16 codes; use --format text")
    enc = tok.streaming_encoder()
    reader = AudioReader(src, tok.sample_rate, raw)
    frames = 0
    for block in reader.blocks():
        if len(block):
            codes = enc.push(block)
            _write_codes(dst, codes, fmt)
            frames += codes.shape[-1]
    codes = enc.flush()
    _write_codes(dst, codes, fmt)
    return frames + codes.shape[-1]


def _code_frames(src: BinaryIO, k: int, fmt: str):
    """Blocks of codes [K, n] as they arrive."""
    if fmt == "text":
        for i, line in enumerate(iter(src.readline, b"")):
            if not line.strip():
                continue
            try:
                row = [int(v) for v in line.split()]
            except ValueError:
                raise AudiotokError(f"line {i + 1} of the codes is not integers") from None
            if len(row) != k:
                raise AudiotokError(f"line {i + 1} has {len(row)} codes; this model takes {k}")
            yield np.array(row, dtype=np.int64).reshape(k, 1)
        return
    size = 2 * k
    pending = b""
    while True:
        data = _read(src, 1 << 14)
        if not data:
            break
        pending += data
        cut = len(pending) - len(pending) % size
        if cut:
            yield np.frombuffer(pending[:cut], "<u2").reshape(-1, k).T.astype(np.int64)
            pending = pending[cut:]
    if pending:
        raise AudiotokError(f"the binary codes end inside a frame ({len(pending)} stray bytes)")


def _wav_open_header(rate: int, encoding: str) -> bytes:
    tag, bits = (3, 32) if encoding == "f32le" else (1, 16)
    block = bits // 8
    fmt = struct.pack("<HHIIHH", tag, 1, rate, rate * block, block, bits)
    return (
        b"RIFF"
        + struct.pack("<I", 0xFFFFFFFF)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", 0xFFFFFFFF)
    )


def decode_pipe(
    tok: Any, src: BinaryIO, dst: BinaryIO, fmt: str = "text", out: str = "s16le"
) -> int:
    """Stream codes from ``src`` to audio on ``dst``; returns the number of samples."""
    if fmt not in CODE_FORMATS:
        raise AudiotokError(f"--format must be one of {', '.join(CODE_FORMATS)}")
    if out not in AUDIO_OUT:
        raise AudiotokError(f"--output-format must be one of {', '.join(AUDIO_OUT)}")
    dec = tok.streaming_decoder()
    k, size = tok.num_codebooks, tok.codebook_size
    encoding = "f32le" if out == "f32le" else "s16le"
    if out == "wav":
        dst.write(_wav_open_header(tok.sample_rate, encoding))
    samples = 0

    def write(wav: Any) -> None:
        nonlocal samples
        x = wav.numpy().astype(np.float32)
        if encoding == "s16le":
            x = np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2")
        dst.write(x.astype(ENCODINGS[encoding]).tobytes())
        dst.flush()
        samples += len(x)

    for codes in _code_frames(src, k, fmt):
        if codes.size and (codes.min() < 0 or codes.max() >= size):
            raise AudiotokError(f"codes must lie in 0..{size - 1}")
        write(dec.push(codes))
    write(dec.flush())
    return samples


def stdio() -> tuple[BinaryIO, BinaryIO]:
    return sys.stdin.buffer, sys.stdout.buffer
