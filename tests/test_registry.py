import sys

import pytest

import audiotok
from audiotok import registry
from audiotok.errors import AudiotokError, UnknownModelError


def test_every_entry_is_complete():
    for e in registry.entries():
        assert e.kind in ("semantic", "acoustic", "hybrid", "extractor", "vocoder"), e.name
        assert e.sample_rate > 0 and e.frame_rate > 0 and e.license and e.source, e.name
        assert e.shipped or e.files, f"{e.name}: no weights named and none shipped"
        for f in e.files:
            assert f.url.startswith("https://") or not f.url, e.name
            assert not f.sha256 or len(f.sha256) == 64, e.name


def test_unknown_names_suggest_close_ones():
    with pytest.raises(UnknownModelError, match="hubert-base-ls960"):
        registry.get("hubert-base-ls96")


def test_a_missing_optional_package_names_its_extra(monkeypatch):
    for name in list(sys.modules):  # as if transformers had never been imported nor installed
        if name == "transformers" or name.startswith(("transformers.", "audiotok.codecs.mimi")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(AudiotokError, match=r"audiotok\[s3m\]"):
        audiotok.load("mimi", pretrained=False)


BLOCKED_BUILD = """
import sys
for name in ("encodec", "dac", "audiotools", "torchaudio"):
    sys.modules[name] = None  # importing any of them now fails
import torch
import audiotok
configs = {
    "encodec-24khz": {"n_filters": 4},
    "encodec-48khz": {"n_filters": 4},
    "dac-16khz": {"encoder_dim": 4, "decoder_dim": 16, "n_codebooks": 2},
}
for model, config in configs.items():
    codec = audiotok.load(model, pretrained=False, config=config, n_codebooks=2)
    print(model, tuple(codec.encode(torch.zeros(3200), 16000).shape))
"""


@pytest.mark.slow  # a fresh interpreter imports torch
def test_encodec_and_dac_import_none_of_the_reference_packages():
    """Our own EnCodec and DAC build and encode with encodec, dac, audiotools and
    torchaudio made unimportable (in a fresh interpreter, so no module is shared)."""
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", BLOCKED_BUILD], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "encodec-24khz (2, 15)" in out.stdout and "dac-16khz (2, 10)" in out.stdout
