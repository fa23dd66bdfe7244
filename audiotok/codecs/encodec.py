"""EnCodec (facebookresearch/encodec) as an audiotok Codec.

The architecture comes from the ``encodec`` package, built with ``pretrained=False``; the
weights are loaded by audiotok from the published file with ``torch.load(weights_only=True)``
after its sha256 is checked (the 8 hex digits in the file name are the digest's prefix, as
torch.hub checks them). 24 kHz model: causal, 75 Hz (hop 320), up to 32 codebooks of 1024;
bandwidths 1.5/3/6/12/24 kbps select 2/4/8/16/32 codebooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audiotok import __version__
from audiotok.codecs.base import Codec, choose_n_codebooks
from audiotok.spec import TokenSpec

BANDWIDTHS = (1.5, 3.0, 6.0, 12.0, 24.0)


class EncodecCodec(Codec):
    def __init__(self, model: Any, name: str, n_codebooks: int, weights_sha256: str):
        self.model = model
        self.hop_length = int(model.encoder.hop_length)
        self.n_q = n_codebooks
        bandwidth = n_codebooks * model.frame_rate * 10 / 1000  # 10 bits per 1024-codebook
        # Causal convolutions and a unidirectional LSTM: frames before the end of a file never
        # see what follows, and batch padding is zeros like the model's own end padding.
        self.batch_exact = True
        self.spec = TokenSpec(
            kind="acoustic",
            name=name,
            sample_rate=int(model.sample_rate),
            frame_rate=float(model.frame_rate),
            num_codebooks=n_codebooks,
            codebook_size=int(model.quantizer.bins),
            weights_sha256=weights_sha256,
            params={"bandwidth_kbps": bandwidth},
            version=__version__,
        )

    def to(self, device: str) -> EncodecCodec:
        self.device = device
        self.model.to(device)
        return self

    def encode_batch(self, wav, lengths):
        import torch

        if wav.dim() == 2:
            wav = wav.unsqueeze(1)
        with torch.inference_mode():
            emb = self.model.encoder(wav)
            # residual stages are sequential: the first K codes do not depend on later stages
            codes = self.model.quantizer.vq.encode(emb, n_q=self.n_q)
        codes = codes.transpose(0, 1)  # [K, B, T'] -> [B, K, T']
        code_lengths = torch.tensor([self.num_frames(int(n)) for n in lengths])
        return codes.long(), code_lengths

    def decode_batch(self, codes, code_lengths):
        import torch

        with torch.inference_mode():
            emb = self.model.quantizer.decode(codes.transpose(0, 1))
            wav = self.model.decoder(emb)
        return wav, code_lengths * self.hop_length


def build(
    entry: Any,
    *,
    variant: str = "24khz",
    bandwidth: float | None = None,
    n_codebooks: int | None = None,
    weights: str | None = None,
    pretrained: bool = True,
    seed: int = 0,
    device: str = "cpu",
) -> EncodecCodec:
    import torch
    from encodec import EncodecModel

    from audiotok import weights as W

    if pretrained:  # find and check the file before building anything
        path, sha = W.resolve(entry, entry.files[0], override=weights)
        state = W.load_state_dict(path)
    if variant != "24khz":
        raise ValueError(f"unknown EnCodec variant {variant!r}")
    torch.manual_seed(seed)
    model = EncodecModel.encodec_model_24khz(pretrained=False)
    if pretrained:
        model.load_state_dict(state)
    else:
        sha = W.state_dict_sha256(model.state_dict())
    model.eval()
    max_q = model.quantizer.n_q
    if n_codebooks is None and bandwidth is None:
        bandwidth = 6.0
    k = choose_n_codebooks(max_q, model.frame_rate, model.quantizer.bins, n_codebooks,
                           bandwidth, BANDWIDTHS)
    codec = EncodecCodec(model, entry.name, k, sha)
    codec.weights_path = str(Path(path).resolve()) if pretrained else ""
    return codec.to(device)
