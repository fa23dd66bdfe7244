"""Reference models of the parity tests, with tiny random weights, saved as release files.

EnCodec: the ``encodec`` package (its ``EncodecModel``, built as ``EncodecModel._get_model``
does, with 4 filters). DAC: transformers' ``DacModel`` (keys ``encoder.conv1``,
``encoder.block.{i}.res_unit{j}.conv1``, ... and ``parametrizations.weight.original0/1``
once weight norm is applied), written in the release layout of descript-audio-codec
(``encoder.block.N.block.M.block.K``, ``weight_g``/``weight_v``) as audiotools saves it:
``{"state_dict": ..., "metadata": {"kwargs": DAC constructor arguments}}``.
"""

from __future__ import annotations

import math
import re

import torch

TINY_FILTERS = 4
BANDWIDTHS = {"24khz": [1.5, 3.0, 6.0, 12.0, 24.0], "48khz": [3.0, 6.0, 12.0, 24.0]}
DAC_RATES = {
    "16khz": (16000, [2, 4, 5, 8]),
    "24khz": (24000, [2, 4, 5, 8]),
    "44khz": (44100, [2, 4, 8, 8]),
}


def encodec_reference(variant: str, seed: int):
    """The encodec package's model of ``variant`` with random weights and filled codebooks."""
    from encodec import EncodecModel
    from encodec import modules as m
    from encodec import quantization as qt

    from audiotok.codecs.encodec import randomize_codebooks

    sr, ch = (24000, 1) if variant == "24khz" else (48000, 2)
    causal, norm = (True, "weight_norm") if variant == "24khz" else (False, "time_group_norm")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        enc = m.SEANetEncoder(channels=ch, norm=norm, causal=causal, n_filters=TINY_FILTERS)
        dec = m.SEANetDecoder(channels=ch, norm=norm, causal=causal, n_filters=TINY_FILTERS)
        bw = BANDWIDTHS[variant]
        n_q = int(1000 * bw[-1] // (math.ceil(sr / enc.hop_length) * 10))
        q = qt.ResidualVectorQuantizer(dimension=enc.dimension, n_q=n_q, bins=1024)
        model = EncodecModel(
            enc,
            dec,
            q,
            bw,
            sr,
            ch,
            normalize=variant == "48khz",
            segment=1.0 if variant == "48khz" else None,
        )
        # the package's norm layers start at ones/zeros: give them random values too
        for name, p in model.named_parameters():
            if ".norm." in name and name.endswith("weight"):
                p.data.uniform_(0.5, 1.5)
            elif ".norm." in name:
                p.data.normal_(0, 0.1)
    return randomize_codebooks(model.eval(), seed)


def dac_reference(
    variant: str, seed: int, encoder_dim: int = 4, decoder_dim: int = 16, n_codebooks: int = 6
):
    """transformers' DacModel (weight norm applied) with random weights and its codebooks
    filled from its own projected latents of noise (random ones give nearly one code)."""
    from transformers import DacConfig, DacModel

    sr, rates = DAC_RATES[variant]
    cfg = DacConfig(
        encoder_hidden_size=encoder_dim,
        downsampling_ratios=rates,
        decoder_hidden_size=decoder_dim,
        n_codebooks=n_codebooks,
        sampling_rate=sr,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DacModel(cfg).eval()
        with torch.no_grad():  # its init (std 0.02) leaves tiny models' latents flat
            for m in model.modules():
                if isinstance(m, (torch.nn.Conv1d, torch.nn.ConvTranspose1d)):
                    m.reset_parameters()
        model.apply_weight_norm()
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            residual = model.encoder(0.1 * torch.randn(1, 1, sr, generator=g))
            for vq in model.quantizer.quantizers:
                frames = vq.in_proj(residual)[0].T
                book = vq.codebook.weight
                idx = torch.randint(0, frames.shape[0], (book.shape[0],), generator=g)
                spread = frames.std(0, keepdim=True) + 1e-6
                book.copy_(frames[idx] + 0.5 * spread * torch.randn(book.shape, generator=g))
                residual = residual - vq(residual)[0]
    kwargs = {
        "encoder_dim": encoder_dim,
        "encoder_rates": rates,
        "latent_dim": None,
        "decoder_dim": decoder_dim,
        "decoder_rates": rates[::-1],
        "n_codebooks": n_codebooks,
        "codebook_size": 1024,
        "codebook_dim": 8,
        "sample_rate": sr,
    }
    return model, kwargs


def _release_key(key: str, n_blocks: int) -> str:
    """transformers' DacModel key -> descript-audio-codec's (the release files')."""
    key = key.replace("parametrizations.weight.original0", "weight_g")
    key = key.replace("parametrizations.weight.original1", "weight_v")

    enc = re.match(r"encoder\.block\.(\d+)\.(.*)", key)
    if enc:
        i, rest = int(enc[1]), enc[2]
        rest = re.sub(r"res_unit(\d)\.(\w+)\.(.*)", lambda m: unit_at(m, 0), rest)
        rest = rest.replace("snake1.", "block.3.").replace("conv1.", "block.4.")
        return f"encoder.block.{i + 1}.{rest}"
    dec = re.match(r"decoder\.block\.(\d+)\.(.*)", key)
    if dec:
        i, rest = int(dec[1]), dec[2]
        rest = re.sub(r"res_unit(\d)\.(\w+)\.(.*)", lambda m: unit_at(m, 1), rest)
        rest = rest.replace("snake1.", "block.0.").replace("conv_t1.", "block.1.")
        return f"decoder.model.{i + 1}.{rest}"
    top = {
        "encoder.conv1.": "encoder.block.0.",
        "encoder.snake1.": f"encoder.block.{n_blocks + 1}.",
        "encoder.conv2.": f"encoder.block.{n_blocks + 2}.",
        "decoder.conv1.": "decoder.model.0.",
        "decoder.snake1.": f"decoder.model.{n_blocks + 1}.",
        "decoder.conv2.": f"decoder.model.{n_blocks + 2}.",
    }
    for a, b in top.items():
        if key.startswith(a):
            return b + key[len(a) :]
    return key  # quantizer.quantizers.{i}.{in_proj, out_proj, codebook}: the same names


def unit_at(m: re.Match, offset: int) -> str:
    """``res_unit{j}.{layer}.{param}`` -> ``block.{j - 1 + offset}.block.{index}.{param}``
    (encoder blocks start with their residual units, decoder blocks after Snake + conv)."""
    ru = {"snake1": 0, "conv1": 1, "snake2": 2, "conv2": 3}
    base = int(m[1]) - 1 + (2 if offset else 0)
    return f"block.{base}.block.{ru[m[2]]}.{m[3]}"


def save_dac_release(model, kwargs: dict, path) -> None:
    """Write ``model`` (transformers) the way DAC releases are written (audiotools
    ``BaseModel.save(package=False)``), in the release key layout."""
    n = len(kwargs["encoder_rates"])
    state = {_release_key(k, n): v.detach().clone() for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "metadata": {"kwargs": kwargs}}, path)


TIE = 1e-5  # distance gap below which float rounding may pick either entry


def assert_dac_codes_match(codec, x: torch.Tensor, ref_codes: torch.Tensor, ours=None) -> None:
    """Our codes of ``x`` equal the reference's, except at exact-arithmetic near ties.

    transformers writes DAC's distance as ``-(|e|^2 - 2 e.c) + |c|^2`` where DAC has
    ``-(|e|^2 - 2 e.c + |c|^2)``; with unit-norm entries both rank by cosine, but they
    round differently, so where two entries are within ~1e-7 the reference may pick the
    other one. A frame may differ only from a stage where our distances to the two entries
    are within ``TIE`` (later stages of that frame then quantise another residual).
    ``ours`` defaults to ``codec.encode(x)``.
    """
    import torch.nn.functional as F

    ours = codec.encode(x, codec.sample_rate) if ours is None else ours
    assert ours.shape == ref_codes.shape
    if torch.equal(ours, ref_codes):
        return
    hop = codec.hop_length
    xp = F.pad(x, (0, -len(x) % hop)).view(1, 1, -1)
    q = codec.model.quantizer
    with torch.no_grad():
        residual = codec.model.encoder(xp)
        checked: set[int] = set()
        for k in range(ours.shape[0]):
            vq = q.quantizers[k]
            enc = F.normalize(vq.in_proj(residual)[0].T)  # [T', d]
            book = F.normalize(vq.codebook.weight)
            for t in (ours[k] != ref_codes[k]).nonzero().flatten().tolist():
                if t in checked:
                    continue
                a, b = book[ours[k, t]], book[ref_codes[k, t]]
                gap = float((enc[t] - a).pow(2).sum() - (enc[t] - b).pow(2).sum())
                assert abs(gap) < TIE, f"stage {k} frame {t}: not a tie (gap {gap:.2e})"
                checked.add(t)
            residual = residual - vq.encode(residual)[1]
    assert len(checked) <= max(1, ours.shape[1] // 20), "too many ties to be rounding"
