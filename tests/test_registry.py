import sys

import pytest

import audiotok
from audiotok import registry
from audiotok.errors import AudiotokError, UnknownModelError


def test_every_entry_is_complete():
    for e in registry.entries():
        assert e.kind in ("semantic", "acoustic", "hybrid", "extractor", "vocoder", "decoder"), (
            e.name
        )
        assert e.sample_rate > 0 and e.frame_rate > 0 and e.license and e.source, e.name
        assert e.shipped or e.files, f"{e.name}: no weights named and none shipped"
        for f in e.files:
            assert f.url.startswith("https://") or not f.url, e.name
            assert not f.sha256 or len(f.sha256) == 64, e.name


# Repositories whose files stay on a branch: no commit could be found for them (issue #19).
# Their files are checked against the digest recorded at first use; pinning one means
# removing it here.
KNOWN_UNPINNED = {
    "data2vec-audio-base",
    # ModelScope "master" (the URLs the s3tokenizer package downloads; its sha256s check them)
    "s3tokenizer-v1-25hz",
    # hubertsiuzdak/snac_*: no commit readable here (first-use sha256 checks them)
    "snac-32khz",
    "snac-44khz",
    "speechtokenizer-hubert-avg",
    "vocos-encodec-24khz",
    "wav2vec2-large",
    "xlsr-300m",
    "xcodec2",
    "wavtokenizer-small-40",
    "wavtokenizer-small-75",
}


def test_every_file_is_pinned_or_known_unpinned_and_has_a_check():
    unpinned = set()
    for e in registry.entries():
        for f in e.files:
            assert f.check in ("sha256", "sha256 prefix", "first-use"), (e.name, f.filename)
            assert f.sha256 == f.sha256.lower() and f.sha256_prefix == f.sha256_prefix.lower()
            if any(host in f.url for host in ("huggingface.co", "github.com", "modelscope.cn")):
                if not f.pinned:
                    unpinned.add(e.name)
                    assert f.pin in ("branch main (unpinned)", "branch master (unpinned)"), (
                        e.name,
                        f.url,
                    )
            else:  # a plain file URL (dl.fbaipublicfiles.com): fixed by its digest alone
                assert f.pin == "fixed URL", (e.name, f.url)
    assert unpinned == KNOWN_UNPINNED


@pytest.mark.parametrize(
    ("url", "pin", "pinned"),
    [
        ("https://huggingface.co/o/r/resolve/" + "ab" * 20 + "/x.bin", "commit " + "ab" * 5, True),
        ("https://huggingface.co/o/r/resolve/main/x.bin", "branch main (unpinned)", False),
        ("https://huggingface.co/o/r/resolve/v1.0/x.bin", "branch v1.0 (unpinned)", False),
        ("https://github.com/o/r/releases/download/0.0.5/w.pth", "release 0.0.5", True),
        ("https://dl.fbaipublicfiles.com/encodec/v0/e.th", "fixed URL", False),
    ],
)
def test_the_pin_is_read_from_the_url(url, pin, pinned):
    f = registry.WeightFile("x", url=url)
    assert (f.pin, f.pinned, f.check) == (pin, pinned, "first-use")


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
