"""Train a small GPT on the units of a corpus, through audiotok's packed dataset.

    audiotok encode corpus/ -o tokens/              # semantic units (mfcc-km100 by default)
    python examples/train_unit_lm.py tokens/ --time-budget 60 [--dedup] [--vocoder DIR]

1. split the store's utterances (seeded validation fraction);
2. pack each split into contexts (EOS between utterances, attention blocked at document
   boundaries with the batch's ``doc_ids``) with ``audiotok.feed.TokenIterableDataset``;
3. train a plain-PyTorch GPT until ``--steps`` or ``--time-budget`` seconds;
4. print the validation loss next to the unigram entropy of the training units (both in nats
   per token, EOS included): a model that learned anything beyond unit frequencies is below it;
5. sample unit sequences; with ``--vocoder DIR`` (``audiotok.vocoders.load``: a folder of
   ``config.json`` + ``model.safetensors``, e.g. from ``audiotok vocoder train``) decode them
   to ``OUT/sample_<i>.wav`` after checking the vocoder was trained on these tokens.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from audiotok.errors import AudiotokError
from audiotok.feed import TokenIterableDataset, block_causal_mask
from audiotok.feed.encoder import FeedEncoder
from audiotok.feed.source import as_source
from audiotok.feed.split import split_ids


class Block(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.heads, d // self.heads).unbind(2)
        y = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask[:, None]
        )
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, vocab: int, context: int, dim: int, layers: int, heads: int):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, dim), nn.Embedding(context, dim)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.tok.weight  # tied embeddings, as in GPT-2
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:  # GPT-2's N(0, 0.02) initialisation
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, ids: torch.Tensor, positions: torch.Tensor, mask: torch.Tensor):
        x = self.tok(ids) + self.pos(positions)
        for blk in self.blocks:
            x = blk(x, mask)
        return self.head(self.ln(x))


def batch_loss(model: GPT, batch: dict, device: str) -> tuple[torch.Tensor, int]:
    ids = batch["input_ids"].to(device)
    mask = block_causal_mask(batch["doc_ids"].to(device))
    mask |= torch.eye(ids.shape[1], dtype=torch.bool, device=device)  # padding attends to itself
    # positions in the context, as nanoGPT's learned embedding takes them (batch["position_ids"],
    # the position inside each document, suits rotary embeddings that restart per document)
    positions = torch.arange(ids.shape[1], device=device)[None]
    logits = model(ids, positions, mask)
    labels = batch["labels"].to(device)
    loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
    return loss, int((labels != -100).sum())


@torch.no_grad()
def evaluate(model: GPT, data: TokenIterableDataset, device: str) -> float:
    model.eval()
    total, count = 0.0, 0
    for batch in data:
        loss, n = batch_loss(model, batch, device)
        total, count = total + loss.item() * n, count + n
    model.train()
    return total / max(count, 1)


def label_counts(data: TokenIterableDataset, vocab: int) -> np.ndarray:
    counts = np.zeros(vocab, dtype=np.int64)
    for batch in data:
        labels = batch["labels"][batch["labels"] != -100].numpy()
        counts += np.bincount(labels, minlength=vocab)
    return counts


def entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def cross_entropy(counts: np.ndarray, model_counts: np.ndarray) -> float:
    """Loss of a unigram model fit on ``model_counts`` (add-one smoothed) on ``counts``."""
    q = (model_counts + 1) / (model_counts.sum() + len(model_counts))
    return float(-(counts * np.log(q)).sum() / counts.sum())


@torch.no_grad()
def sample(
    model: GPT, allowed: torch.Tensor, eos: int, length: int, context: int, device: str
) -> list[int]:
    """Units after an EOS (a document start) until EOS; only unit ids and EOS are drawn."""
    model.eval()
    seq = [eos]
    for _ in range(length):
        ids = torch.tensor([seq[-context:]], device=device)
        t = ids.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool, device=device).tril()[None]
        logits = model(ids, torch.arange(t, device=device)[None], mask)[0, -1]
        logits = logits.masked_fill(~allowed, float("-inf"))
        nxt = int(torch.multinomial(F.softmax(logits, -1), 1))
        if nxt == eos:
            break
        seq.append(nxt)
    return seq[1:]


def vocode(units: list[np.ndarray], vocoder_dir: str, spec, dedup: bool, out: Path) -> None:
    """Decode sampled units [1, T'] with a unit vocoder (audiotok.vocoders.load)."""
    import audiotok.vocoders as vocoders

    load = getattr(vocoders, "load", None)
    if load is None:
        print("vocoder: skipped (audiotok.vocoders has no load() yet)")
        return
    import soundfile as sf

    voc = load(vocoder_dir)
    vocoders.check_tokens(voc, spec)  # an AudiotokError naming both if they do not match
    predict = dedup and bool(voc.config.duration_predictor)
    if dedup and not predict:
        print("vocoder: no duration predictor for deduplicated units: one frame per unit")
    out.mkdir(parents=True, exist_ok=True)
    for i, u in enumerate(units):
        if u.shape[-1] == 0:  # the model ended the sample at once: no audio to write
            print(f"vocoder: sample {i} is empty (end of sequence first), no wav written")
            continue
        codes = torch.as_tensor(u, dtype=torch.long)
        wav, lengths = voc.decode(codes, torch.tensor([codes.shape[1]]), dedup=predict)
        path = out / f"sample_{i}.wav"
        sf.write(path, wav[0, : int(lengths[0])].cpu().numpy(), voc.sample_rate)
        print(f"vocoder: wrote {path} ({int(lengths[0]) / voc.sample_rate:.2f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("tokens", help="token store of semantic units (audiotok encode)")
    ap.add_argument("--out", default="unit_lm", help="folder for samples and audio")
    ap.add_argument("--dedup", action="store_true", help="train on deduplicated units")
    ap.add_argument("--context", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--dim", type=int, default=96)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--time-budget", type=float, default=60.0, help="seconds of training")
    ap.add_argument("--val-fraction", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--sample-length", type=int, default=60)
    ap.add_argument("--vocoder", help="vocoder folder for audiotok.vocoders.load")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's)")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    if a.threads:
        torch.set_num_threads(a.threads)

    source = as_source(a.tokens)
    train_ids, val_ids = split_ids(source.ids(), val_fraction=a.val_fraction, seed=a.seed)
    enc = FeedEncoder.for_source(source, "flatten", dedup=a.dedup)
    vocab, eos = enc.vocab.vocab_size, enc.vocab.special("eos")

    def data(ids: list[str], shuffle: bool) -> TokenIterableDataset:
        return TokenIterableDataset(
            source, enc, ids=ids, context_length=a.context, batch_size=a.batch,
            shuffle=shuffle, seed=a.seed, rank=0, world_size=1,
        )  # fmt: skip

    train, val = data(train_ids, True), data(val_ids, False)
    print(f"{len(train_ids)} train / {len(val_ids)} validation utterances, vocabulary {vocab}")
    model = GPT(vocab, a.context, a.dim, a.layers, a.heads).to(a.device)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    step, epoch, start = 0, 0, time.monotonic()
    while step < a.steps and time.monotonic() - start < a.time_budget:
        train.set_epoch(epoch)
        for batch in train:
            lr = a.lr * min(1.0, (step + 1) / 50)
            for g in opt.param_groups:
                g["lr"] = lr
            loss, _ = batch_loss(model, batch, a.device)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            if step % 100 == 0:
                print(f"step {step} train loss {loss.item():.3f}")
            if step >= a.steps or time.monotonic() - start >= a.time_budget:
                break
        epoch += 1
    val_counts = label_counts(val, vocab)
    h = entropy(val_counts)  # the best any unigram model can do on these tokens
    h_fit = cross_entropy(val_counts, label_counts(train, vocab))
    val_loss = evaluate(model, val, a.device)
    print(f"trained {step} steps ({epoch} epochs) in {time.monotonic() - start:.1f} s")
    print(
        f"unigram entropy {h:.4f} nats/token of the validation units (perplexity "
        f"{math.exp(h):.2f}); a unigram model fit on train: {h_fit:.4f}"
    )
    print(f"validation loss {val_loss:.4f} nats/token (perplexity {math.exp(val_loss):.2f})")
    print(f"below the unigram entropy: {'yes' if val_loss < h else 'no'}")

    allowed = torch.zeros(vocab, dtype=torch.bool, device=a.device)
    for s in (enc.vocab.streams[i] for i in enc.stream_idx):
        allowed[s.offset : s.offset + s.size] = True
    allowed[eos] = True
    units = []
    for i in range(a.samples):
        seq = sample(model, allowed, eos, a.sample_length, a.context, a.device)
        codes = enc.vocab.from_ids(np.array([seq], dtype=np.int64), enc.stream_idx)
        units.append(codes)
        print(f"sample {i}: {' '.join(map(str, codes[0].tolist()))}")
    if a.vocoder:
        try:
            vocode(units, a.vocoder, source.spec, a.dedup, Path(a.out))
        except AudiotokError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)


if __name__ == "__main__":
    main()
