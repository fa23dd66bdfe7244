import json
from pathlib import Path

import pytest

from audiotok.corpus import scan, scan_with_problems
from audiotok.errors import AudiotokError, ManifestError


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


# --- hardening (issues 8, 9): links, unreadable folders, manifests, safe ids ---------------


def test_file_links_in_a_loop_are_problems_not_a_crash(small_corpus):
    a = small_corpus / "a"
    (a / "x.wav").symlink_to(a / "y.wav")
    (a / "y.wav").symlink_to(a / "x.wav")
    (a / "gone.wav").symlink_to(a / "nothing-here.wav")
    items, problems = scan_with_problems([small_corpus])
    assert [i.id for i in items] == ["a/u0", "a/u1", "a/u2", "b/u3", "b/u4", "b/u5"]
    reasons = {Path(p).name: r for p, r in problems}
    assert reasons == {
        "x.wav": "symbolic link loop",
        "y.wav": "symbolic link loop",
        "gone.wav": "broken symbolic link (its target does not exist)",
    }
    assert [i.id for i in scan([small_corpus])] == [i.id for i in items]  # scan still works


def test_a_folder_link_to_its_parent_is_entered_once(tmp_path, make_wav):
    make_wav("c/spk/one.wav", 0.2)
    make_wav("c/spk/two.wav", 0.2)
    (tmp_path / "c" / "spk" / "up").symlink_to("..")
    items, problems = scan_with_problems([tmp_path / "c"])
    assert [i.id for i in items] == ["spk/one", "spk/two"] and problems == []


def test_links_to_other_folders_are_followed(tmp_path, make_wav):
    make_wav("elsewhere/far.wav", 0.2)
    make_wav("c/near.wav", 0.2)
    (tmp_path / "c" / "linked").symlink_to(tmp_path / "elsewhere")
    items = scan([tmp_path / "c"])
    assert [(i.id, i.path) for i in items] == [
        ("linked/far", str(tmp_path / "elsewhere" / "far.wav")),
        ("near", str(tmp_path / "c" / "near.wav")),
    ]


def test_tsv_header_with_id_before_path(small_corpus, tmp_path):
    m = tmp_path / "m.tsv"
    m.write_text(
        f"id\tpath\tspeaker\nfirst\t{small_corpus}/a/u0.wav\ts1\nsecond\tcorpus/b/u4.wav\ts2\n"
    )
    items = scan([m])
    assert [(i.id, i.path) for i in items] == [
        ("first", str(small_corpus / "a" / "u0.wav")),
        ("second", str(small_corpus / "b" / "u4.wav")),
    ]


def test_headerless_tsv_keeps_numeric_ids(small_corpus, tmp_path):
    m = tmp_path / "m.tsv"
    m.write_text("corpus/a/u0.wav\t17\ncorpus/b/u4.wav\t0018\n")
    assert [i.id for i in scan([m])] == ["0018", "17"]


def test_fairseq_second_column_is_a_sample_count_not_an_id(small_corpus, tmp_path):
    m = tmp_path / "train.tsv"
    m.write_text(f"{small_corpus}\na/u1.wav\t27200\n")
    assert [i.id for i in scan([m])] == ["a/u1"]


def test_a_manifest_that_is_not_utf8_names_its_line(small_corpus, tmp_path):
    m = tmp_path / "m.tsv"
    m.write_bytes(b"path\tid\ncorpus/a/u0.wav\tok\ncorpus/a/u1.wav\tcaf\xe9\n")
    with pytest.raises(ManifestError, match=r"m\.tsv:3: not UTF-8"):
        scan([m])
    bom = tmp_path / "bom.tsv"
    bom.write_bytes(b"\xef\xbb\xbfpath\tid\ncorpus/a/u0.wav\tok\n")
    assert [i.id for i in scan([bom])] == ["ok"]


def test_jsonl_ids_integers_become_strings_others_are_refused(small_corpus, tmp_path):
    m = tmp_path / "m.jsonl"
    m.write_text(json.dumps({"path": "corpus/a/u0.wav", "id": 17}) + "\n")
    assert [i.id for i in scan([m])] == ["17"]
    for n, bad in enumerate([1.5, True, ["x"], {"a": 1}], 2):
        rows = [{"path": "corpus/a/u0.wav", "id": "fine"}, {"path": "corpus/a/u1.wav", "id": bad}]
        m.write_text("\n" * (n - 2) + "\n".join(json.dumps(r) for r in rows) + "\n")
        with pytest.raises(ManifestError, match=rf"m\.jsonl:{n}: 'id' must be a string"):
            scan([m])


@pytest.mark.parametrize(
    ("ident", "why"),
    [
        ("/etc/passwd", "absolute"),
        ("../../escape", "'..'"),
        ("a/../../b", "'..'"),
        ("a\\b", "backslash"),
        ("a\x00b", "control"),
        ("a//b", "empty"),
        ("./a", "'.'"),
    ],
)
def test_unsafe_ids_are_refused_naming_the_line(small_corpus, tmp_path, ident, why):
    m = tmp_path / "m.jsonl"
    rows = [{"path": "corpus/a/u0.wav", "id": "ok"}, {"path": "corpus/a/u1.wav", "id": ident}]
    m.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(ManifestError, match=rf"m\.jsonl:2: the id .* {why}"):
        scan([m])


def test_empty_ids_are_refused_and_ids_from_paths_drop_dotdot(small_corpus, tmp_path):
    m = tmp_path / "sub" / "m.tsv"
    m.parent.mkdir()
    m.write_text("path\tid\n../corpus/a/u0.wav\t\n")  # an empty id cell: the id comes from the path
    assert [i.id for i in scan([m])] == ["corpus/a/u0"]
    j = tmp_path / "m.jsonl"
    j.write_text(json.dumps({"path": "corpus/a/u0.wav", "id": ""}) + "\n")
    with pytest.raises(ManifestError, match=r"m\.jsonl:1: the id '' is empty"):
        scan([j])
