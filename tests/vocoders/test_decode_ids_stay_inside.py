"""Paths from data stay inside their folder (issue #19, point 3): ids of a unit file or a
store never make a file outside ``decode -o``'s folder."""

from __future__ import annotations

import pytest


def _decode(argv, capsys):
    from audiotok.cli.app import main

    with pytest.raises(SystemExit) as e:
        main(argv)
    return e.value.code, capsys.readouterr().err


@pytest.fixture
def voc_dir(tiny_vocoder, tmp_path):
    from audiotok.vocoders.loading import save

    return save(tiny_vocoder(), tmp_path / "voc")


BAD_IDS = {
    "../escape": "'..'",
    "spk/../../escape": "'..'",
    "/ABS/escape": "absolute",
    "a//b": "empty",
    "./a": "'.'",
    "x" * 300: "bytes",
}


@pytest.mark.parametrize("utt", list(BAD_IDS))
def test_decode_refuses_ids_that_leave_the_output_folder(utt, voc_dir, tmp_path, capsys):
    utt = utt.replace("/ABS", str(tmp_path))
    units = tmp_path / "units.txt"
    units.write_text(f"ok|1 2 3 4\n{utt}|1 2 3 4\n")
    out = tmp_path / "out"
    code, err = _decode(["decode", str(units), "--vocoder", str(voc_dir), "-o", str(out)], capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and BAD_IDS[utt.replace(str(tmp_path), "/ABS")] in lines[0]
    assert not (tmp_path / "escape.wav").exists()
    written = {p for p in tmp_path.rglob("*.wav")}
    assert all(out in p.parents for p in written)


def test_decode_does_not_write_through_links(voc_dir, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    units = tmp_path / "units.txt"
    units.write_text("spk/u1|1 2 3 4\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "spk").symlink_to(elsewhere)  # a sub-folder that leads elsewhere
    code, err = _decode(["decode", str(units), "--vocoder", str(voc_dir), "-o", str(out)], capsys)
    assert code == 2 and "symbolic link" in err and len(err.strip().splitlines()) == 1
    linked = tmp_path / "linked"
    linked.symlink_to(elsewhere)  # the output folder itself is a link
    units.write_text("u1|1 2 3 4\n")
    code, err = _decode(
        ["decode", str(units), "--vocoder", str(voc_dir), "-o", str(linked)], capsys
    )
    assert code == 2 and "symbolic link" in err and str(elsewhere) in err
    assert list(elsewhere.iterdir()) == []
    units.write_text("spk1/u1|1 2 3 4\n")  # a plain sub-folder is fine
    code, err = _decode(["decode", str(units), "--vocoder", str(voc_dir), "-o", str(out)], capsys)
    assert code == 0, err
    assert (out / "spk1" / "u1.wav").is_file()
