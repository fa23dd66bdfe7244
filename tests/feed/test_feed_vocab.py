"""VocabSpec: offsets and specials never collide; JSON round trip; dtype follows the size."""

import numpy as np
import pytest
from feed_helpers import ACU, SEM

from audiotok.feed.vocab import StreamSpec, VocabError, VocabSpec
from audiotok.spec import TokenSpec


def _ids_of(v: VocabSpec) -> list[tuple[str, int, int]]:
    return [(s.name, s.offset, s.offset + s.size) for s in v.streams]


def _check_no_collision(v: VocabSpec) -> None:
    tables = {}  # one table (shared) or one per stream (separate): id -> owner
    for s in v.streams:
        table = tables.setdefault("all" if v.layout == "shared" else s.name, {})
        for i in range(s.offset, s.offset + s.size):
            assert i not in table, (i, s.name, table.get(i))
            table[i] = s.name
    for table in tables.values() or [{}]:
        for name, i in v.specials.items():
            assert 0 <= i < v.vocab_size
            assert i not in table, (name, i, table.get(i))
    assert len(set(v.specials.values())) == len(v.specials)
    for s in v.streams:
        assert s.offset + s.size <= v.vocab_size


def test_random_specs_never_collide():
    rng = np.random.default_rng(0)
    for trial in range(300):
        specs = []
        for j in range(int(rng.integers(1, 4))):
            k = int(rng.integers(1, 5))
            kind = ["semantic", "acoustic", "hybrid"][int(rng.integers(0, 3))]
            specs.append(
                TokenSpec(
                    kind,
                    f"tok{j}",
                    16000,
                    float(rng.choice([12.5, 50, 75])),
                    k,
                    int(rng.integers(1, 3000)),
                    semantic_codebooks=(0,) if kind != "acoustic" else (),
                )
            )
        layout = ["shared", "separate"][int(rng.integers(0, 2))]
        text = int(rng.integers(1, 500)) if rng.random() < 0.3 else None
        specials = [n for n in ("pad", "bos", "eos", "empty") if rng.random() < 0.8]
        v = VocabSpec.build(
            specs,
            layout=layout,
            text_size=text,
            specials=specials,
            markers=bool(rng.random() < 0.5),
            delays=["none", "musicgen", "moshi"][trial % 3],
        )
        _check_no_collision(v)
        assert VocabSpec.from_dict(v.to_dict()) == v
        if layout == "shared":
            assert v.vocab_size == sum(s.size for s in v.streams) + len(v.specials)
            # every code of every stream maps to a distinct id and back
            for i, s in enumerate(v.streams):
                codes = np.array([[0, s.size - 1]])
                assert (v.from_ids(v.to_ids(codes, [i]), [i]) == codes).all()


def test_layouts_offsets_and_specials():
    v = VocabSpec.build([SEM, ACU], markers=True)
    assert _ids_of(v) == [
        ("hubert-km50", 0, 50),
        ("codec-4x64.c0", 50, 114),
        ("codec-4x64.c1", 114, 178),
        ("codec-4x64.c2", 178, 242),
        ("codec-4x64.c3", 242, 306),
    ]
    assert v.specials == {
        "pad": 306,
        "bos": 307,
        "eos": 308,
        "empty": 309,
        "<hubert-km50>": 310,
        "</hubert-km50>": 311,
        "<codec-4x64>": 312,
        "</codec-4x64>": 313,
    }
    assert v.vocab_size == 314 and v.dtype == "uint16"
    assert [s.kind for s in v.streams] == ["semantic"] + ["acoustic"] * 4

    sep = VocabSpec.build([ACU], layout="separate", specials=("empty", "eos"))
    assert all(s.offset == 0 for s in sep.streams)
    assert sep.specials == {"empty": 64, "eos": 65}  # MusicGen: special token = card
    assert sep.vocab_size == 66


def test_text_first_for_llm_extension_and_dtype():
    v = VocabSpec.build([SEM], text_size=128256)
    assert v.streams[0].name == "text" and v.streams[1].offset == 128256
    assert v.vocab_size == 128256 + 50 + 4 and v.dtype == "int32"
    assert VocabSpec.build([SEM], text_size=65536 - 54).dtype == "uint16"  # exactly 65536 ids
    assert VocabSpec.build([SEM], text_size=65536 - 53).dtype == "int32"


def test_delay_presets_and_hybrid_kinds():
    hyb = TokenSpec("hybrid", "st", 16000, 50.0, 3, 1024, semantic_codebooks=(0,))
    v = VocabSpec.build([hyb], delays="moshi")
    assert [(s.kind, s.delay) for s in v.streams] == [
        ("semantic", 0),
        ("acoustic", 1),
        ("acoustic", 1),
    ]
    v = VocabSpec.build([hyb], delays="musicgen", codebooks=[[1, 2]])
    assert [(s.codebook, s.delay) for s in v.streams] == [(1, 0), (2, 1)]
    with pytest.raises(VocabError, match="no codebook 5"):
        VocabSpec.build([hyb], codebooks=[[5]])


def test_bad_specs_are_refused(tmp_path):
    v = VocabSpec.build([SEM])
    d = v.to_dict()
    d["specials"]["eos"] = 3  # inside the units
    with pytest.raises(VocabError, match="collides"):
        VocabSpec.from_dict(d)
    d = v.to_dict()
    d["streams"].append(dict(d["streams"][0], name="x", offset=10))
    d["vocab_size"] += 50
    with pytest.raises(VocabError, match="overlap"):
        VocabSpec.from_dict(d)
    with pytest.raises(VocabError, match="format"):
        VocabSpec.from_dict({"streams": []})
    (tmp_path / "v.json").write_text("{not json")
    with pytest.raises(VocabError, match="cannot read"):
        VocabSpec.load(tmp_path / "v.json")
    p = v.save(tmp_path / "ok.json")
    assert VocabSpec.load(p) == v
    with pytest.raises(VocabError, match="outside"):
        v.to_ids(np.array([[50]]), [0])
    with pytest.raises(VocabError, match="not a code of stream"):
        v.from_ids(np.array([[v.special("eos")]]), [0])
    with pytest.raises(VocabError):
        VocabSpec((StreamSpec("a", "noise", 4, "a"),), {}, "shared", 4)
