"""Vocos: audiotok's plain-torch decoders against the reference package (random weights)."""

from __future__ import annotations

import functools
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml

import audiotok
from audiotok import registry
from audiotok.errors import AudiotokError

pytest.importorskip("vocos")  # the [test] extra installs it
from vocos.feature_extractors import EncodecFeatures, MelSpectrogramFeatures  # noqa: E402
from vocos.pretrained import Vocos, instantiate_class  # noqa: E402


def _config(kind: str) -> dict:
    """The released configs' layout (charactr/vocos-*-24khz config.yaml) at tiny sizes."""
    if kind == "mel":
        fe = {
            "class_path": "vocos.feature_extractors.MelSpectrogramFeatures",
            "init_args": {"sample_rate": 24000, "n_fft": 1024, "hop_length": 256, "n_mels": 100},
        }
        bb = {"input_channels": 100, "dim": 64, "intermediate_dim": 96, "num_layers": 2}
        head = {"dim": 64, "n_fft": 1024, "hop_length": 256, "padding": "center"}
    else:
        fe = {
            "class_path": "vocos.feature_extractors.EncodecFeatures",
            "init_args": {"encodec_model": "encodec_24khz", "bandwidths": [1.5, 3.0, 6.0, 12.0]},
        }
        bb = {"input_channels": 128, "dim": 64, "intermediate_dim": 96, "num_layers": 2}
        bb["adanorm_num_embeddings"] = 4
        head = {"dim": 64, "n_fft": 1280, "hop_length": 320, "padding": "same"}
    return {
        "feature_extractor": fe,
        "backbone": {"class_path": "vocos.models.VocosBackbone", "init_args": bb},
        "head": {"class_path": "vocos.heads.ISTFTHead", "init_args": head},
    }


@functools.cache
def _random_encodec():
    from encodec import EncodecModel

    return EncodecModel.encodec_model_24khz(pretrained=False)


def _reference(kind: str, seed: int = 0) -> Vocos:
    """The package's model with random weights (every parameter drawn, norms included)."""
    cfg = _config(kind)
    g = torch.Generator().manual_seed(seed)
    if kind == "mel":
        fe = instantiate_class((), cfg["feature_extractor"])
    else:  # EncodecFeatures.__init__ downloads EnCodec: build its parts by hand instead
        fe = EncodecFeatures.__new__(EncodecFeatures)
        torch.nn.Module.__init__(fe)
        fe.encodec = _random_encodec()
        fe.bandwidths = [1.5, 3.0, 6.0, 12.0]
        fe.codebook_weights = torch.nn.Parameter(torch.randn(16 * 1024, 128, generator=g))
    model = Vocos(fe, instantiate_class((), cfg["backbone"]), instantiate_class((), cfg["head"]))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not name.startswith("feature_extractor."):
                p.copy_(torch.randn(p.shape, generator=g) * 0.1 + (1.0 if "scale" in name else 0.0))
    return model.eval()


def _folder(tmp_path: Path, kind: str, ref: Vocos, drop_table: bool = False) -> Path:
    """A released-layout folder: config.yaml + pytorch_model.bin (the package's state dict
    without EnCodec's own weights, which from_pretrained adds from the encodec release)."""
    folder = tmp_path / f"vocos-{kind}"
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump(_config(kind)))
    state = {
        k: v
        for k, v in ref.state_dict().items()
        if not k.startswith("feature_extractor.encodec.")
        or (drop_table and "quantizer.vq.layers" in k)
    }
    if drop_table:  # an older layout: the codebooks under EnCodec's quantiser only
        del state["feature_extractor.codebook_weights"]
    torch.save(state, folder / "pytorch_model.bin")
    return folder


def test_mel_vocos_equals_the_reference(tmp_path):
    ref = _reference("mel")
    dec = audiotok.load_vocos(str(_folder(tmp_path, "mel", ref)))
    g = torch.Generator().manual_seed(2)
    wav = 0.1 * torch.randn(2, 12000, generator=g)
    mel = dec.mel(wav)
    torch.testing.assert_close(mel, MelSpectrogramFeatures()(wav), atol=1e-4, rtol=1e-4)
    got = dec.decode_mel(mel)
    want = ref.decode(mel)
    assert mel.shape == (2, 100, 47)
    assert got.shape == want.shape == (2, 46 * 256)  # centred ISTFT: (frames - 1) x hop
    assert want.abs().max() > 1e-3
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(dec.decode_mel(mel[0]), want[0], atol=1e-5, rtol=1e-4)
    with pytest.raises(AudiotokError, match=r"takes a \[100, frames\] log-mel"):
        dec.decode_mel(torch.zeros(80, 10))


@pytest.mark.parametrize("drop_table", [False, True])
def test_encodec_vocos_equals_the_reference_per_bandwidth(tmp_path, drop_table):
    ref = _reference("encodec")
    if drop_table:  # the table equals EnCodec's codebooks, as the package builds it
        books = [vq.codebook for vq in ref.feature_extractor.encodec.quantizer.vq.layers[:16]]
        ref.feature_extractor.codebook_weights.data = torch.cat(books).clone()
    dec = audiotok.load_vocos(str(_folder(tmp_path, "encodec", ref, drop_table)))
    g = torch.Generator().manual_seed(3)
    for bw_id, k in enumerate((2, 4, 8, 16)):
        codes = torch.randint(0, 1024, (1, k, 30), generator=g)
        want = ref.decode(ref.codes_to_features(codes[0]), bandwidth_id=torch.tensor([bw_id]))
        wav, n = dec.decode_batch(codes, torch.tensor([30]))
        assert int(n[0]) == 30 * 320 == want.shape[-1]
        assert want.abs().max() > 1e-3
        torch.testing.assert_close(wav[0, 0], want[0], atol=1e-5, rtol=1e-4)


def test_store_rows_decode_each_row_as_alone(tmp_path):
    from audiotok.decoding import as_decoder, decode_items

    ref = _reference("encodec", seed=4)
    dec = audiotok.load_vocos(str(_folder(tmp_path, "encodec", ref)))
    spec = SimpleNamespace(kind="acoustic", name="encodec-24khz", num_codebooks=8)
    dec.for_store(spec)
    g = torch.Generator().manual_seed(5)
    rows = [
        {
            "id": f"u{i}",
            "codes": torch.randint(0, 1024, (8, n), generator=g).numpy(),
            "num_frames": n,
            "duration_s": n / 75,
        }
        for i, n in enumerate((20, 33, 7))
    ]
    out = tmp_path / "wav"
    out.mkdir()
    items = [(r["id"], r["codes"], round(r["duration_s"] * 24000)) for r in rows]
    assert decode_items(items, as_decoder(dec), lambda u: out / f"{u}.wav", batch_frames=80) == 3
    import soundfile as sf

    for r in rows:
        wav, sr = sf.read(out / f"{r['id']}.wav", dtype="float32")
        alone = dec.decode(torch.as_tensor(r["codes"]))
        assert sr == 24000 and len(wav) == r["num_frames"] * 320
        assert torch.allclose(torch.from_numpy(wav), alone, atol=1e-4)  # 16-bit-free float wav
    with pytest.raises(AudiotokError, match="not 32"):
        dec.for_store(SimpleNamespace(kind="acoustic", name="encodec-24khz", num_codebooks=32))
    with pytest.raises(AudiotokError, match="decodes EnCodec-24 kHz tokens, not dac-24khz"):
        dec.for_store(SimpleNamespace(kind="acoustic", name="dac-24khz", num_codebooks=8))


def test_config_is_read_safely_and_checked(tmp_path, monkeypatch):
    ref = _reference("mel")
    folder = _folder(tmp_path, "mel", ref)
    with monkeypatch.context() as m:
        m.setitem(__import__("sys").modules, "yaml", None)  # as if PyYAML were not installed
        with pytest.raises(AudiotokError, match=r"audiotok\[vocos\]"):
            audiotok.load_vocos(str(folder))
    cfg = _config("mel")
    cfg["head"]["class_path"] = "os.system"
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(AudiotokError, match="head 'os.system' is not supported"):
        audiotok.load_vocos(str(folder))
    (folder / "config.yaml").write_text("!!python/object/apply:os.system ['true']\n")
    with pytest.raises(AudiotokError, match="cannot read"):
        audiotok.load_vocos(str(folder))
    cfg = _config("mel")
    cfg["backbone"]["init_args"]["dim"] = 32  # the weights no longer fit
    cfg["head"]["init_args"]["dim"] = 32
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(AudiotokError, match="does not fit its config"):
        audiotok.load_vocos(str(folder))


def test_registry_entries_and_missing_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOTOK_HOME", str(tmp_path))
    for name, rate in (("vocos-encodec-24khz", 75.0), ("vocos-mel-24khz", 93.75)):
        e = registry.get(name)
        assert (e.kind, e.sample_rate, e.frame_rate) == ("decoder", 24000, rate)
        assert e.license.startswith("MIT")
        assert [f.filename for f in e.files] == ["config.yaml", "pytorch_model.bin"]
        with pytest.raises(AudiotokError, match="are not on this machine"):
            audiotok.load_vocos(name)
    with pytest.raises(AudiotokError, match="not a Vocos"):
        audiotok.load_vocos("encodec-24khz")


@pytest.mark.slow
def test_cli_decoder_vocos_refuses_a_unit_store(tmp_path, small_corpus, capsys):
    from audiotok.cli.app import main

    folder = _folder(tmp_path, "encodec", _reference("encodec"))
    with pytest.raises(SystemExit) as e:
        main(["encode", str(small_corpus), "-o", str(tmp_path / "tok"), "--num-workers", "0", "-q"])
    assert e.value.code == 0
    with pytest.raises(SystemExit) as e:
        main(
            [
                "decode",
                str(tmp_path / "tok"),
                "-o",
                str(tmp_path / "w"),
                "--decoder",
                "vocos",
                "--weights",
                str(folder),
                "--device",
                "cpu",
            ]
        )
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "error: vocos-encodec decodes EnCodec-24 kHz tokens, not mfcc-km100"


@pytest.mark.slow
def test_cli_decodes_an_encodec_store_with_vocos(tmp_path, small_corpus, capsys):
    """`audiotok decode STORE --decoder vocos`: one wav per utterance, each equal to the
    Vocos decode of the row's codes."""
    import soundfile as sf

    from audiotok.cli.app import main
    from audiotok.corpus import scan
    from audiotok.pipeline.api import encode_corpus
    from audiotok.pipeline.local import RunOptions

    from codec_tiny import TINY_ENCODEC

    tok = audiotok.load(
        "encodec-24khz", pretrained=False, device="cpu", config=TINY_ENCODEC, n_codebooks=4
    )
    store = tmp_path / "tok"
    encode_corpus(scan([str(small_corpus)]), tok, store, options=RunOptions(num_workers=0))
    folder = _folder(tmp_path, "encodec", _reference("encodec", seed=6))
    out = tmp_path / "wav"
    with pytest.raises(SystemExit) as e:
        main(["decode", str(store), "-o", str(out), "--decoder", "vocos", "--weights",
              str(folder), "--device", "cpu"])  # fmt: skip
    assert e.value.code == 0, capsys.readouterr().err
    dec = audiotok.load_vocos(str(folder))
    rows = list(audiotok.open_tokens(str(store)).rows())
    assert len(rows) == len(list(out.rglob("*.wav"))) > 0
    for row in rows:
        wav, sr = sf.read(out / f"{row['id']}.wav", dtype="float32")
        alone = dec.decode(torch.tensor(np.array(row["codes"])).reshape(4, -1))
        assert sr == 24000 and abs(len(wav) - round(row["duration_s"] * 24000)) <= 1
        assert alone.abs().max() > 1e-3
        torch.testing.assert_close(torch.from_numpy(wav), alone[: len(wav)], atol=1e-3, rtol=0)
