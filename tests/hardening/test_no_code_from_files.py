"""No file names code (issue #19, point 1): a model folder, a store's recipe, a vocoder folder
or a codebook header that names a function to call is refused in one line, and nothing runs.

The exploit of the issue: ``{"audiotok_builder": "site:addsitedir"}`` beside a ``.pth`` file
whose ``import`` line writes a marker file (``site.addsitedir`` executes such lines).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from audiotok.errors import AudiotokError

BUILDERS = ("site:addsitedir", "os:system", "builtins:exec")


def _plant(folder: Path, marker: Path, builder: str, **extra) -> Path:
    """A folder whose config.json names ``builder``; every way of running it writes ``marker``."""
    folder.mkdir(parents=True, exist_ok=True)
    touch = f"import pathlib; pathlib.Path({str(marker)!r}).write_text('ran')"
    (folder / "evil.pth").write_text(touch + "\n")
    (folder / "model.safetensors").write_bytes(b"")
    (folder / "config.json").write_text(json.dumps({"audiotok_builder": builder, **extra}))
    return folder


def _one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize("builder", BUILDERS)
def test_a_folder_naming_code_is_refused_by_load(tmp_path, builder):
    import audiotok

    marker = tmp_path / "marker"
    folder = _plant(tmp_path / "model", marker, builder)
    before = list(sys.path)
    with pytest.raises(AudiotokError) as e:
        audiotok.load(str(folder))
    msg = _one_line(e)
    assert str(folder / "config.json") in msg and "audiotok_builder" in msg and builder in msg
    assert not marker.exists() and sys.path == before


@pytest.mark.parametrize("builder", BUILDERS)
def test_the_builder_is_refused_beside_a_known_format_too(tmp_path, builder):
    import audiotok

    marker = tmp_path / "marker"
    folder = _plant(tmp_path / "m", marker, builder, format="audiotok-hybrid-codec")
    with pytest.raises(AudiotokError, match="audiotok_builder"):
        audiotok.load(str(folder))
    from audiotok.codecs.speechtokenizer_student import load_student

    with pytest.raises(AudiotokError, match="audiotok_builder"):
        load_student(folder)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"format": "my.module:load"}, '"format"'),
        ({"format": ["audiotok-hybrid-codec"]}, '"format" must be a string'),
        ({"format": 3}, '"format" must be a string'),
        ({"sample_rate": 16000}, 'missing field "format"'),
        ({"model_type": "bert"}, '"model_type"'),
        ({"model_type": "hubert", "auto_map": {"AutoModel": "m.Evil"}}, '"auto_map"'),
        (["not", "an", "object"], "JSON object"),
    ],
)
def test_unknown_missing_or_mistyped_fields_are_one_line_naming_file_and_field(
    tmp_path, config, field
):
    import audiotok

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(AudiotokError) as e:
        audiotok.load(str(folder))
    msg = _one_line(e)
    assert field in msg and str(folder / "config.json") in msg


def _store_naming(store: Path, folder: Path) -> Path:
    from audiotok.recipe import TokenizerConfig
    from audiotok.spec import TokenSpec
    from audiotok.store import TokenWriter

    spec = TokenSpec("hybrid", folder.name, 16000, 50.0, 2, 16, semantic_codebooks=(0,))
    w = TokenWriter(store, spec, recipe=TokenizerConfig(str(folder), {"n_codebooks": 2}))
    w.add("u0", "u0.wav", 0.1, np.zeros((2, 5), np.int64))
    w.close()
    return store


@pytest.mark.parametrize("builder", BUILDERS)
def test_a_store_whose_recipe_names_a_planted_folder_fails_cleanly(tmp_path, builder):
    from audiotok import load_for_store

    marker = tmp_path / "marker"
    folder = _plant(tmp_path / "model", marker, builder)
    store = _store_naming(tmp_path / "tokens", folder)
    with pytest.raises(AudiotokError) as e:
        load_for_store(store, device="cpu")
    assert "audiotok_builder" in _one_line(e)
    assert not marker.exists()


def test_audiotok_decode_of_such_a_store_is_one_error_line(tmp_path, capsys):
    from audiotok.cli.app import main

    marker = tmp_path / "marker"
    folder = _plant(tmp_path / "model", marker, "site:addsitedir")
    store = _store_naming(tmp_path / "tokens", folder)
    with pytest.raises(SystemExit) as e:
        main(["decode", str(store), "-o", str(tmp_path / "wavs"), "--device", "cpu"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2  # an AudiotokError: exit 2, one line
    assert len(lines) == 1 and "audiotok_builder" in lines[0] and str(store) in lines[0]
    assert not marker.exists() and not (tmp_path / "wavs").exists()


@pytest.mark.parametrize("builder", BUILDERS)
def test_a_vocoder_folder_naming_code_is_refused(tmp_path, builder):
    from audiotok.vocoders import load

    marker = tmp_path / "marker"
    folder = _plant(tmp_path / "voc", marker, builder)
    with pytest.raises(AudiotokError) as e:
        load(str(folder))
    assert "audiotok_builder" in _one_line(e)
    # a vocoder config without its "format" is not taken for one either
    (folder / "config.json").write_text(json.dumps({"sample_rate": 16000}))
    with pytest.raises(AudiotokError, match='missing field "format"'):
        load(str(folder))
    assert not marker.exists()


def test_extractor_and_codebook_routes_refuse_it_too(tmp_path):
    import torch

    from audiotok.extractors import load as load_extractor
    from audiotok.kmeans.codebook import Codebook

    marker = tmp_path / "marker"
    folder = _plant(tmp_path / "model", marker, "site:addsitedir")
    with pytest.raises(AudiotokError, match="audiotok_builder"):
        load_extractor(str(folder))
    # a codebook whose header says it was trained on that folder's features
    cb = Codebook(torch.zeros(4, 3), meta={"extractor": str(folder)})
    path = tmp_path / "km4.safetensors"
    cb.save(path)
    import audiotok

    with pytest.raises(AudiotokError, match="audiotok_builder"):
        audiotok.load(str(path))
    assert not marker.exists()


def test_a_recipe_read_from_a_file_never_carries_allow_pickle():
    from audiotok.recipe import recipe_from_dict

    r = recipe_from_dict({"name": "/x/hubert.pt", "options": {"allow_pickle": True, "layer": 6}})
    assert r.options == {"layer": 6}
    with pytest.raises(AudiotokError, match='"name"'):
        recipe_from_dict({"name": ["site", "addsitedir"]})
    with pytest.raises(AudiotokError, match='"options"'):
        recipe_from_dict({"name": "mfcc", "options": "allow_pickle"})


def test_folders_earlier_audiotok_wrote_still_load(tmp_path):
    """Their config.json carried the builder name audiotok itself wrote: it maps to the
    format through a table, and is never imported."""
    from audiotok import folder_formats

    folder = tmp_path / "st"
    folder.mkdir()
    legacy = "audiotok.codecs.speechtokenizer_student:load_student"
    (folder / "config.json").write_text(json.dumps({"audiotok_builder": legacy}))
    assert folder_formats.identify(folder).name == "audiotok-hybrid-codec"
    cfg = {"audiotok_builder": legacy, "format": "audiotok-vocoder"}
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(AudiotokError, match="means format"):
        folder_formats.identify(folder)


@pytest.mark.parametrize("command", ["encode", "extract", "decode"])
def test_every_cli_entry_point_refuses_it_in_one_line(tmp_path, make_wav, capsys, command):
    from audiotok.cli.app import main

    marker = tmp_path / "marker"
    folder = _plant(tmp_path / "model", marker, "site:addsitedir")
    wav = make_wav("corpus/a.wav", 0.3)
    units = tmp_path / "units.txt"
    units.write_text("u0|1 2 3\n")
    out = str(tmp_path / "out")
    argv = {
        "encode": ["encode", str(wav), "-o", out, "--model", str(folder), "--device", "cpu"],
        "extract": ["extract", str(wav), "-o", out, "--model", str(folder), "--device", "cpu"],
        "decode": ["decode", str(units), "--vocoder", str(folder), "-o", out],
    }[command]
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "audiotok_builder" in err[0], err
    assert not marker.exists()


def test_a_store_recipe_of_the_wrong_shape_is_one_line_naming_the_store(tmp_path):
    from audiotok import load_for_store
    from audiotok.store import record as R

    store = _store_naming(tmp_path / "tokens", tmp_path / "model")
    rec = R.read(store)
    assert rec is not None
    rec.data["recipe"] = {"target": "tokenizer", "name": {"module": "os", "function": "system"}}
    R.write(store, rec)
    with pytest.raises(AudiotokError) as e:
        load_for_store(store, device="cpu")
    msg = _one_line(e)
    assert str(store) in msg and '"name"' in msg


def test_a_codebook_header_cannot_opt_in_to_unpickling(tmp_path):
    from audiotok.factory import _recipe_defaults

    evil = tmp_path / "hubert.pt"
    evil.write_bytes(b"a pickle")
    recipe = {"name": "hubert-base-ls960", "options": {"allow_pickle": True, "weights": str(evil)}}
    assert _recipe_defaults(recipe) == {"extractor": "hubert-base-ls960", "weights": str(evil)}
    assert _recipe_defaults({"name": "mfcc", "options": ["allow_pickle"]}) == {"extractor": "mfcc"}
