"""`audiotok decode` onto a full disk: one line, exit 2, no truncated wav (#25)."""

from __future__ import annotations

import pytest

from audiotok import open_tokens
from audiotok.cli.app import run


@pytest.mark.slow
def test_decode_onto_a_full_disk(unit_store, tiny_vocoder, tmp_path, full_disk, capsys):
    from audiotok.vocoders.config import spec_identity
    from audiotok.vocoders.loading import save

    store = open_tokens(str(unit_store))
    voc = tiny_vocoder(num_units=100, frame_rate=100, duration_predictor=True,
                       tokens=spec_identity(store.spec),
                       codebook_sha256=store.spec.params["codebook_sha256"],
                       tokenizer=store.recipe.to_dict())  # fmt: skip
    save(voc, tmp_path / "voc")
    rc = run(["decode", str(unit_store), "-o", str(full_disk / "w"), "--vocoder",
              str(tmp_path / "voc")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and "no space left" in err
    assert not [p for p in full_disk.rglob("*.wav")]
