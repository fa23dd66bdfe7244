"""Weight norm on and off; checkpoints that load with weights_only=True."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from audiotok.train import checkpoint as ckpt
from audiotok.train.norms import apply_weight_norm, fold_weight_norm, folded_state_dict


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv1d(2, 4, 3), nn.ReLU(), nn.ConvTranspose1d(4, 2, 4, 2))


def test_weight_norm_folds_to_the_same_function():
    plain = _net()
    x = torch.randn(1, 2, 20)
    ref = plain(x)
    wn = apply_weight_norm(_net())
    assert parametrize.is_parametrized(wn[0]) and parametrize.is_parametrized(wn[2])
    assert torch.allclose(wn(x), ref, atol=1e-6)
    state = folded_state_dict(wn)
    assert set(state) == set(plain.state_dict())
    assert parametrize.is_parametrized(wn[0])  # the trained module is left as it was
    fresh = _net()
    fresh.load_state_dict(state)
    assert torch.allclose(fresh(x), ref, atol=1e-6)
    fold_weight_norm(wn)
    assert not parametrize.is_parametrized(wn[0]) and torch.allclose(wn(x), ref, atol=1e-6)


def test_checkpoint_round_trip_is_weights_only(tmp_path):
    net = apply_weight_norm(_net())
    opt = torch.optim.AdamW(net.parameters())
    net(torch.randn(1, 2, 20)).sum().backward()
    opt.step()
    state = {"optim": opt.state_dict(), "rng": ckpt.rng_state(torch.device("cpu")), "x": 1.5}
    path = ckpt.save(tmp_path, 7, {"net": net}, state)
    assert path.name == "step-00000007" and (path / "net.safetensors").is_file()
    loaded = torch.load(path / ckpt.STATE, weights_only=True)  # no pickle beyond tensors
    assert loaded["step"] == 7 and loaded["x"] == 1.5
    other = apply_weight_norm(_net())
    back = ckpt.load(path, {"net": other}, torch.device("cpu"))
    assert all(
        torch.equal(a, b)
        for a, b in zip(net.state_dict().values(), other.state_dict().values(), strict=True)
    )
    opt2 = torch.optim.AdamW(other.parameters())
    opt2.load_state_dict(back["optim"])
    ckpt.save(tmp_path, 9, {"net": net}, state)
    ckpt.save(tmp_path, 11, {"net": net}, state)
    ckpt.prune(tmp_path, keep=2, weights_of_old=("net",))
    assert ckpt.all_steps(tmp_path) == [9, 11] and ckpt.latest(tmp_path).name == "step-00000011"
    # only the newest keeps the optimizer state: the older one is its weights
    assert ckpt.list_steps(tmp_path) == [11]
    assert [f.name for f in (tmp_path / "step-00000009").iterdir()] == ["net.safetensors"]
