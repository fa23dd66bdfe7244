import json

import pytest

from audiotok.corpus import scan
from audiotok.errors import AudiotokError


def test_folder_ids_are_relative_paths_without_extension(small_corpus):
    items = scan([small_corpus])
    assert [i.id for i in items] == ["a/u0", "a/u1", "a/u2", "b/u3", "b/u4", "b/u5"]
    assert items[0].rel == "a/u0.wav" and items[0].path.endswith("a/u0.wav")


def test_single_files_use_their_stem(small_corpus):
    items = scan([small_corpus / "a" / "u1.wav", small_corpus / "b" / "u3.wav"])
    assert [i.id for i in items] == ["u1", "u3"]


def test_tsv_manifest_with_header_and_ids(small_corpus, tmp_path):
    m = tmp_path / "m.tsv"
    m.write_text(f"path\tid\n{small_corpus}/a/u0.wav\tfirst\ncorpus/b/u4.wav\tsecond\n")
    assert [(i.id, i.path.endswith("b/u4.wav")) for i in scan([m])] == [
        ("first", False),
        ("second", True),
    ]


def test_fairseq_style_tsv_root_line(small_corpus, tmp_path):
    m = tmp_path / "train.tsv"
    m.write_text(f"{small_corpus}\na/u1.wav\t27200\nb/u3.wav\t36800\n")
    assert [i.id for i in scan([m])] == ["a/u1", "b/u3"]


def test_jsonl_manifest(small_corpus, tmp_path):
    m = tmp_path / "m.jsonl"
    rows = [
        {"path": str(small_corpus / "a/u2.wav")},
        {"audio_filepath": "corpus/b/u5.wav", "id": "x"},
    ]
    m.write_text("\n".join(json.dumps(r) for r in rows))
    assert sorted(i.id for i in scan([m])) == ["u2", "x"]


def test_missing_input_and_duplicate_ids(small_corpus, tmp_path):
    with pytest.raises(AudiotokError, match="does not exist"):
        scan([tmp_path / "nope"])
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "u1.wav").write_bytes((small_corpus / "a" / "u1.wav").read_bytes())
    with pytest.raises(AudiotokError, match="two inputs have the id"):
        scan([small_corpus / "a" / "u1.wav", tmp_path / "other" / "u1.wav"])
