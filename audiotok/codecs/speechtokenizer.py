"""SpeechTokenizer (and audiotok's distilled students) as an audiotok Codec: ``kind="hybrid"``.

16 kHz, hop 320 (50 Hz), 8 x 1024 codebooks; codebook 0 is distilled from HuBERT
(``semantic_codebooks=(0,)``). Codes are ``[B, K, T']`` (the package returns ``[K, B, T']``);
``--n-codebooks K`` keeps the first K RVQ stages, a prefix of the codes with more. Frame ``j``
covers samples ``[320 j, 320 (j + 1))``; a file of T samples gives ``ceil(T / 320)`` frames.

Cutting the work (the BiLSTM of the encoder sees the whole file, so this needs care):

- Batches: files of different lengths run apart (``Codec.encode_batch``: one batch per
  length, exact). The padded path (``_encode_padded``) makes every convolution see each
  file's own reflection padding
  (:func:`audiotok.codecs.padding.as_if_alone`), and packs the BiLSTM's input with each
  file's frame count, so both directions run over that file's frames only. Each file then
  goes through the computation it gets alone, up to float rounding of batched kernels.
  ``benchmarks/hybrid_bounds.py`` measures the share of equal codes and the largest
  embedding difference of a padded batch (hooks + packing, and padded naively) and of long
  files in windows, against each file alone (figures in docs/performance.md).
  With hooks and packing the embeddings agree to float rounding; the codes that differ sit
  at near ties of the random codebooks (the expansion ``|x|^2 - 2 x.e + |e|^2`` that the
  package uses for distances rounds at ~1e-7 of ``|x|^2``), which trained codebooks make
  rare. Rare is not exact: ``batch_exact`` is False (``padded_exact_on`` is empty), so the
  engine batches equal lengths and ``encode_batch`` runs each length apart.
- Long files (over ``long_window_seconds``): the convolutions before the LSTM run in 10 s
  windows with enough context for their receptive field (exact), the BiLSTM and the last
  convolution then run over the whole file at 50 Hz (the recurrence is not cut, so nothing
  is approximated; memory is 2 x 1024 floats per frame, 1.5 GB per hour of audio). Decoding
  runs the frame-rate LSTM over the whole file and the upsampling convolutions in windows.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from audiotok import __version__
from audiotok.codecs.base import Codec, choose_n_codebooks
from audiotok.errors import AudiotokError
from audiotok.spec import TokenSpec

WINDOW_SECONDS = 10.0
QUANTIZE_CHUNK = 3000  # frames quantised at once (distances are chunk x codebook_size)
ROOM_FRAMES = 4  # >= the right padding of every layer, in frames (the last conv: 3)


class SpeechTokenizerCodec(Codec):
    """A :class:`~audiotok.codecs.speechtokenizer_model.HybridCodecModel` behind the Codec
    contract (the released SpeechTokenizer models and audiotok's students)."""

    # A tiny student's batch of two files of one length flipped 4 of 820 codes against each
    # file alone on the CPU (tests/codecs/test_batch_exact.py), and no GPU was measured yet:
    # its files run one at a time.
    equal_lengths_exact_on = ()

    def __init__(self, model: Any, name: str, n_codebooks: int, weights_sha256: str):
        from audiotok.codecs.windows import conv_span, round_up

        cfg = model.cfg
        self.model = model
        self.hop_length = cfg.hop_length
        self.n_q = n_codebooks
        self.semantic_codebooks = (0,)
        self.window = round_up(int(WINDOW_SECONDS * cfg.sample_rate), self.hop_length)
        pre, _, _ = model.encoder.split()
        self.context = round_up(conv_span(pre) // 2 + 1, self.hop_length)
        _, upsampling = model.decoder.split()
        self.decode_window_frames = self.window // self.hop_length
        self.decode_context = conv_span(upsampling) // 2 + 1
        self.long_window_seconds = 3 * WINDOW_SECONDS
        params: dict[str, Any] = {"n_codebooks": n_codebooks}
        if cfg.split_semantic:
            params["split_semantic"] = True
        self.spec = TokenSpec(
            kind="hybrid",
            name=name,
            sample_rate=cfg.sample_rate,
            frame_rate=cfg.frame_rate,
            num_codebooks=n_codebooks,
            codebook_size=cfg.codebook_size,
            weights_sha256=weights_sha256,
            params=params,
            version=__version__,
            semantic_codebooks=(0,),
        )

    def recipe_options(self) -> dict[str, Any]:
        return {"n_codebooks": self.n_q}

    def to(self, device: str) -> SpeechTokenizerCodec:
        self.device = device
        self.model.to(device)
        return self

    # --- encoding --------------------------------------------------------------------------
    def _quantize(self, emb):
        import torch

        vq = self.model.vq
        return torch.cat(
            [
                vq.encode(emb[..., i : i + QUANTIZE_CHUNK], self.n_q)
                for i in range(0, emb.shape[-1], QUANTIZE_CHUNK)
            ],
            dim=-1,
        ).long()

    def embed(self, wav, lengths):
        """wav[B, 1, T] -> (emb[B, D, T'], frames per item), each item as if alone."""
        import torch

        from audiotok.codecs.padding import as_if_alone, pad_to_multiple

        lengths = [int(n) for n in lengths]
        want = [math.ceil(n / self.hop_length) for n in lengths]
        if len(set(lengths)) == 1 and lengths[0] == wav.shape[-1]:
            emb = self.model.encoder(wav)
            got = [emb.shape[-1]] * len(lengths)
        else:
            pre, lstm, post = self.model.encoder.split()
            # room past the longest file for the reflection padding the hooks write there
            # (a right pad that does not fit would be completed by the batch's own padding)
            wav = pad_to_multiple(wav, self.hop_length)
            wav = torch.nn.functional.pad(wav, (0, ROOM_FRAMES * self.hop_length))
            with as_if_alone(self.model.encoder, lengths, wav.shape[-1]) as tracker:
                h = pre(wav)
                got = tracker.valid(h.shape[-1])
                h = lstm(h, got) if lstm is not None else h
                emb = post(h)[..., : max(want)]
        if got != want:  # never let the padding machinery guess a length
            raise AudiotokError(
                f"internal error: the encoder gave {got} frames for {lengths} samples, "
                f"expected ceil(T / {self.hop_length}) = {want}"
            )
        return emb, want

    def _encode_padded(self, wav, lengths):
        import torch

        if wav.dim() == 2:
            wav = wav.unsqueeze(1)
        with torch.inference_mode():
            emb, frames = self.embed(wav, lengths)
            codes = self._quantize(emb)
        return codes, torch.tensor(frames)

    def embed_long(self, wav):
        """One long file wav[1, 1, T] -> emb[1, D, ceil(T / hop)]: convolutions in windows,
        the LSTM over the whole file."""
        from audiotok.codecs.windows import run_windowed

        pre, lstm, post = self.model.encoder.split()
        h = run_windowed(pre, wav, self.window, self.context, Fraction(1, self.hop_length))
        if lstm is not None:
            h = lstm(h)
        return post(h)

    def encode_long(self, wav):
        import torch

        with torch.inference_mode():
            emb = self.embed_long(wav)
            codes = self._quantize(emb)
        want = math.ceil(wav.shape[-1] / self.hop_length)
        if codes.shape[-1] != want:
            raise AudiotokError(f"internal error: {codes.shape[-1]} frames, expected {want}")
        return codes, torch.tensor([want])

    # --- decoding --------------------------------------------------------------------------
    def _decode_padded(self, codes, code_lengths):
        import torch

        from audiotok.codecs.padding import as_if_alone

        with (
            torch.inference_mode(),
            as_if_alone(self.model.decoder, code_lengths, codes.shape[-1]) as tracker,
        ):
            wav = self.model.decoder(self.model.vq.decode(codes))
        lengths = tracker.valid(wav.shape[-1])
        return wav, torch.tensor(lengths)

    def decode_long(self, codes):
        import torch

        from audiotok.codecs.windows import run_windowed

        at_frame_rate, upsampling = self.model.decoder.split()
        with torch.inference_mode():
            h = at_frame_rate(self.model.vq.decode(codes))
            return run_windowed(
                upsampling,
                h,
                self.decode_window_frames,
                self.decode_context,
                Fraction(self.hop_length),
            )


def architecture(config: dict[str, Any], seed: int = 0) -> Any:
    """A HybridCodecModel with random weights from a released-style ``config`` dict."""
    from audiotok.codecs.speechtokenizer_model import (
        HybridCodecConfig,
        HybridCodecModel,
        randomize_codebooks,
    )
    from audiotok.rng import seeded

    with seeded(seed):
        model = HybridCodecModel(HybridCodecConfig.from_released(config))
    return randomize_codebooks(model.eval(), seed)


def build(
    entry: Any,
    *,
    released: dict[str, Any],
    n_codebooks: int | None = None,
    weights: str | None = None,
    pretrained: bool = True,
    seed: int = 0,
    device: str = "cpu",
    config: dict[str, Any] | None = None,
) -> SpeechTokenizerCodec:
    """Build a registered SpeechTokenizer: the released ``config.json`` + checkpoint (cache
    or ``weights``), or with ``pretrained=False`` random weights of the released architecture
    (``released``, the entry's copy of the config) with ``config`` overriding keys (tests)."""
    from audiotok import weights as W
    from audiotok.codecs import speechtokenizer_weights as SW
    from audiotok.codecs.speechtokenizer_model import HybridCodecConfig, HybridCodecModel

    path = ""
    if pretrained:
        if config is not None:
            raise AudiotokError("config= only applies to pretrained=False (random weights)")
        state, cfg_dict, sha, path = SW.load(entry, weights)
        model = HybridCodecModel(HybridCodecConfig.from_released(cfg_dict, "avg"))
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            raise AudiotokError(
                f"{path} does not match its config.json: {str(e).splitlines()[0][:200]}"
            ) from None
        model.eval()
    else:
        if weights is not None:
            raise AudiotokError("weights= and pretrained=False exclude each other")
        model = architecture({**released, **(config or {})}, seed)
        sha = W.state_dict_sha256(model.state_dict())
    cfg = model.cfg
    k = choose_n_codebooks(cfg.n_q, cfg.frame_rate, cfg.codebook_size, n_codebooks, None)
    codec = SpeechTokenizerCodec(model, entry.name, k, sha)
    codec.weights_path = path
    return codec.to(device)
