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


def test_unknown_names_suggest_close_ones():
    with pytest.raises(UnknownModelError, match="hubert-base-ls960"):
        registry.get("hubert-base-ls96")


def test_a_missing_optional_package_names_its_extra(monkeypatch):
    for name in list(sys.modules):  # as if dac had never been imported nor installed
        if name == "dac" or name.startswith(("dac.", "audiotok.codecs.dac")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "dac", None)
    with pytest.raises(AudiotokError, match=r"audiotok\[dac\]"):
        audiotok.load("dac-16khz", pretrained=False)
