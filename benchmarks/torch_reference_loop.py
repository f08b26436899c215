#!/usr/bin/env python3
"""A careful hand-written PyTorch training loop: the trainer issue's comparison point for
`polyphony bench` on the same machine and the same data.

Everything runs on the chosen device: the epoch's permutation and the negatives are drawn there,
Adam is torch's fused one, and no value is read back per step (the loss is summed on the device
and read once at the end). Negatives are uniform over all items, as research loops usually draw
them; Polyphony draws them among the items the user has not seen, which costs it more.

Data: a MovieLens `ratings.dat` (`UserID::MovieID::Rating::Timestamp`), for instance the ML-1M
shaped one `polyphony datagen --dataset synthetic:users=6040,items=3706,interactions=1235000
--format movielens --out DIR` writes; each user's interactions are shuffled and cut 80/10/10 like
Polyphony's default `ratio:0.8,0.1` split.

Models (formulas: shared spec models.md):
  mf          BPR-MF, score = e_u . e_i.
  uiprotomf   UI-ProtoMF (Melchiorre et al., RecSys 2022) with the shifted cosine
              sim = 1 + cos, the top-k prototype filter through torch.topk + scatter (Moradi et
              al., arXiv 2405.17607), the four max-regularisers and the squared orthonormality
              regulariser ||P^ P^T - I||_F^2 on both prototype sets, sampled softmax.

With --cuda-graph (CUDA only) the step is captured once as a CUDA graph and replayed, as
torch.cuda.graphs documents whole-network capture: warm-up steps on a side stream, static inputs
(the epoch's order and the batch's first position, written before each replay), torch's
capturable fused Adam; an epoch's last, shorter batch is left out (and not counted).

Prints one JSON object: training interactions/s, seconds per epoch, full-ranking evaluation
seconds for every user and its NDCG@10 / Recall@10 on the test split.
"""

import argparse
import json
import math
import time

import torch
import torch.nn.functional as F


def load_ratings(path):
    """(users, items) as int64 tensors of dense indices, from a `::`-separated ratings.dat."""
    user_ids, item_ids = [], []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            fields = line.split("::")
            if len(fields) != 4 or not fields[0].isdigit() or not fields[1].isdigit():
                raise SystemExit(f"{path}:{number}: expected UserID::MovieID::Rating::Timestamp, "
                                 f"got {line.strip()!r}")
            user_ids.append(int(fields[0]))
            item_ids.append(int(fields[1]))
    if not user_ids:
        raise SystemExit(f"{path}: no ratings")
    users = torch.unique(torch.tensor(user_ids), return_inverse=True)[1]
    items = torch.unique(torch.tensor(item_ids), return_inverse=True)[1]
    return users, items


def split_by_user(users, items, generator, train_share=0.8, valid_share=0.1):
    """Per user: shuffle, the first round(0.8 n) (at least one) train, the next round(0.1 n)
    validation, the rest test. Returns three (users, items) pairs."""
    order = torch.randperm(users.numel(), generator=generator)
    order = order[torch.sort(users[order], stable=True)[1]]
    users, items = users[order], items[order]
    counts = torch.bincount(users)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(users.numel()) - starts[users]
    n = counts[users].double()
    train_end = torch.clamp(torch.round(train_share * n), min=1)
    valid_end = train_end + torch.round(valid_share * n)
    train = rank < train_end
    test = rank >= valid_end
    valid = ~train & ~test
    return [(users[mask], items[mask]) for mask in (train, valid, test)]


class MatrixFactorization(torch.nn.Module):
    def __init__(self, num_users, num_items, dim):
        super().__init__()
        self.users = torch.nn.Parameter(torch.randn(num_users, dim) * 0.1)
        self.items = torch.nn.Parameter(torch.randn(num_items, dim) * 0.1)

    def forward(self, users, items):
        """users [B], items [B, n] -> scores [B, n]."""
        return torch.einsum("bd,bnd->bn", self.users[users], self.items[items])

    def regularization(self):
        return torch.zeros((), device=self.users.device)

    def user_factors(self):
        return self.users

    def item_factors(self):
        return self.items


def shifted_cosine(x, prototypes):
    return 1 + F.normalize(x, dim=-1) @ F.normalize(prototypes, dim=-1).T


def keep_top_k(similarities, k):
    if k <= 0 or k >= similarities.size(-1):
        return similarities
    values, indices = similarities.topk(k, dim=-1)
    return torch.zeros_like(similarities).scatter(-1, indices, values)


def max_regularizers(similarities, proto_weight, batch_weight):
    """ProtoMF's R_{P->E} (each prototype near some entity) and R_{E->P} (each entity near some
    prototype), both negated maxima of the (filtered) similarities of the batch."""
    return -(proto_weight * similarities.max(0).values.mean() +
             batch_weight * similarities.max(1).values.mean())


def orthonormality(prototypes):
    unit = F.normalize(prototypes, dim=-1)
    gram = unit @ unit.T
    return (gram - torch.eye(gram.size(0), device=gram.device)).pow(2).sum()


class UIProtoMF(torch.nn.Module):
    def __init__(self, num_users, num_items, dim, user_prototypes, item_prototypes, k_user,
                 k_item, ortho):
        super().__init__()
        self.users = torch.nn.Parameter(torch.randn(num_users, dim))
        self.items = torch.nn.Parameter(torch.randn(num_items, dim))
        self.user_prototypes = torch.nn.Parameter(torch.randn(user_prototypes, dim))
        self.item_prototypes = torch.nn.Parameter(torch.randn(item_prototypes, dim))
        self.user_projection = torch.nn.Linear(dim, item_prototypes, bias=False)
        self.item_projection = torch.nn.Linear(dim, user_prototypes, bias=False)
        self.k_user, self.k_item, self.ortho = k_user, k_item, ortho
        self.batch_regularization = None

    def user_side(self, users):
        u = self.users[users]
        u_star = keep_top_k(shifted_cosine(u, self.user_prototypes), self.k_user)
        return u_star, self.user_projection(u)

    def item_side(self, items):
        t = self.items[items]
        t_star = keep_top_k(shifted_cosine(t, self.item_prototypes), self.k_item)
        return self.item_projection(t), t_star

    def forward(self, users, items):
        """users [B], items [B, n] -> scores [B, n] = u*.t^ + u^.t*."""
        u_star, u_hat = self.user_side(users)
        t_hat, t_star = self.item_side(items)
        self.batch_regularization = (
            max_regularizers(u_star, 0.086, 0.050) +
            max_regularizers(t_star.flatten(0, 1), 1.80, 0.105))
        return (torch.einsum("bl,bnl->bn", u_star, t_hat) +
                torch.einsum("bl,bnl->bn", u_hat, t_star))

    def regularization(self):
        return self.batch_regularization + self.ortho * (
            orthonormality(self.user_prototypes) + orthonormality(self.item_prototypes))

    def user_factors(self):
        u_star, u_hat = self.user_side(torch.arange(self.users.size(0), device=self.users.device))
        return torch.cat([u_star, u_hat], 1)

    def item_factors(self):
        t_hat, t_star = self.item_side(torch.arange(self.items.size(0), device=self.items.device))
        return torch.cat([t_hat, t_star], 1)


def ranking_loss(scores, loss):
    """scores [B, 1 + n], the positive first."""
    if loss == "bpr":
        return -F.logsigmoid(scores[:, :1] - scores[:, 1:]).mean()
    return (torch.logsumexp(scores, 1) - scores[:, 0]).mean()


def batches(n, args, device):
    """The positions of each step's positives: a fresh permutation per epoch, cut into batches."""
    for _ in range(args.epochs):
        order = torch.randperm(n, device=device)
        for first in range(0, n, args.batch_size):
            yield order[first:first + args.batch_size]


def train(model, train_users, train_items, num_items, args, device):
    """Returns (seconds, interactions, steps) of the timed steps: those after the first
    `--warmup-steps` (allocator, thread pools), at most `--max-steps` of them."""
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay,
                                 fused=True)
    total_loss = torch.zeros((), device=device)
    timed_steps = timed_interactions = 0
    start = None
    for step, batch in enumerate(batches(train_users.numel(), args, device)):
        if step == args.warmup_steps:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        users, positives = train_users[batch], train_items[batch]
        negatives = torch.randint(num_items, (batch.numel(), args.negatives), device=device)
        scores = model(users, torch.cat([positives[:, None], negatives], 1))
        loss = ranking_loss(scores, args.loss) + model.regularization()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.detach()
        if start is not None:
            timed_steps += 1
            timed_interactions += batch.numel()
            if timed_steps == args.max_steps:
                break
    if start is None:
        raise SystemExit(f"--warmup-steps {args.warmup_steps}: the run has fewer steps than that; "
                         "lower it or raise --epochs")
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    if not math.isfinite(total_loss.item()):
        raise SystemExit("training diverged: the summed loss is not finite")
    return seconds, timed_interactions, timed_steps


def train_captured(model, train_users, train_items, num_items, args, device):
    """As train(), with the step replayed from a CUDA graph; full batches only."""
    n, size = train_users.numel(), args.batch_size
    if n < size:
        raise SystemExit("--cuda-graph: the training split is smaller than one batch")
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay,
                                 fused=True, capturable=True)
    total_loss = torch.zeros((), device=device)
    order = torch.randperm(n, device=device)
    first = torch.zeros((), dtype=torch.int64, device=device)
    positions = torch.arange(size, device=device)

    def step():
        batch = order[first + positions]
        users, positives = train_users[batch], train_items[batch]
        negatives = torch.randint(num_items, (size, args.negatives), device=device)
        scores = model(users, torch.cat([positives[:, None], negatives], 1))
        loss = ranking_loss(scores, args.loss) + model.regularization()
        loss.backward()
        optimizer.step()
        total_loss.add_(loss.detach())

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            optimizer.zero_grad(set_to_none=True)
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    optimizer.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        step()

    timed_steps = timed_interactions = 0
    start = None
    replays = 0
    for _ in range(args.epochs):
        order.copy_(torch.randperm(n, device=device))
        for position in range(0, n - size + 1, size):
            if replays == args.warmup_steps:
                torch.cuda.synchronize()
                start = time.perf_counter()
            first.fill_(position)
            graph.replay()
            replays += 1
            if start is not None:
                timed_steps += 1
                timed_interactions += size
                if timed_steps == args.max_steps:
                    break
        if timed_steps and timed_steps == args.max_steps:
            break
    if start is None:
        raise SystemExit(f"--warmup-steps {args.warmup_steps}: the run has fewer full batches than "
                         "that; lower it or raise --epochs")
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    if not math.isfinite(total_loss.item()):
        raise SystemExit("training diverged: the summed loss is not finite")
    return seconds, timed_interactions, timed_steps


@torch.no_grad()
def evaluate(model, train_pairs, test_pairs, num_users, num_items, device, chunk=1024, k=10):
    """Full ranking of every item for every user with a test item, training items masked:
    NDCG@10 and Recall@10 averaged over those users."""
    user_factors, item_factors = model.user_factors(), model.item_factors()
    seen = torch.zeros(num_users, num_items, dtype=torch.bool, device=device)
    seen[train_pairs] = True
    relevant = torch.zeros(num_users, num_items, dtype=torch.bool, device=device)
    relevant[test_pairs] = True
    discounts = 1 / torch.log2(torch.arange(2, k + 2, device=device, dtype=torch.float64))
    ndcg = torch.zeros((), dtype=torch.float64, device=device)
    recall = torch.zeros((), dtype=torch.float64, device=device)
    evaluated = torch.zeros((), dtype=torch.int64, device=device)
    for first in range(0, num_users, chunk):
        rows = slice(first, min(first + chunk, num_users))
        scores = user_factors[rows] @ item_factors.T
        scores.masked_fill_(seen[rows], float("-inf"))
        top = scores.topk(k, dim=1).indices
        hits = relevant[rows].gather(1, top).double()
        counts = relevant[rows].sum(1)
        has_test = counts > 0
        ideal = torch.cumsum(discounts, 0)[torch.clamp(counts, 1, k) - 1]
        ndcg += ((hits @ discounts) / ideal)[has_test].sum()
        recall += (hits.sum(1) / counts.clamp(min=1))[has_test].sum()
        evaluated += has_test.sum()
    return (ndcg / evaluated).item(), (recall / evaluated).item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratings", required=True, help="a MovieLens ratings.dat")
    parser.add_argument("--model", choices=["mf", "uiprotomf"], default="mf")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=0,
                        help="stop after this many timed steps (0: whole epochs)")
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--negatives", type=int, default=1)
    parser.add_argument("--loss", choices=["bpr", "softmax"], default="bpr")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--user-prototypes", type=int, default=71)
    parser.add_argument("--item-prototypes", type=int, default=43)
    parser.add_argument("--k-filter", type=int, default=25, help="k of both sides (0: off)")
    parser.add_argument("--ortho", type=float, default=0.1)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cuda-graph", action="store_true",
                        help="capture the step as a CUDA graph and replay it (CUDA only)")
    args = parser.parse_args()
    for name in ("epochs", "batch_size", "negatives", "dim"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("max_steps", "warmup_steps", "threads"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    if args.cuda_graph and device.type != "cuda":
        parser.error("--cuda-graph needs a CUDA --device")

    users, items = load_ratings(args.ratings)
    num_users, num_items = int(users.max()) + 1, int(items.max()) + 1
    generator = torch.Generator().manual_seed(args.seed)
    (train_users, train_items), _, test = split_by_user(users, items, generator)
    train_users, train_items = train_users.to(device), train_items.to(device)
    test = tuple(t.to(device) for t in test)

    if args.model == "mf":
        model = MatrixFactorization(num_users, num_items, args.dim)
    else:
        model = UIProtoMF(num_users, num_items, args.dim, args.user_prototypes,
                          args.item_prototypes, args.k_filter, args.k_filter, args.ortho)
    model.to(device)

    run = train_captured if args.cuda_graph else train
    seconds, interactions, steps = run(model, train_users, train_items, num_items, args, device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    ndcg, recall = evaluate(model, (train_users, train_items), test, num_users, num_items, device)
    evaluation_seconds = time.perf_counter() - start
    rate = interactions / seconds
    print(json.dumps({
        "model": args.model, "device": str(device), "cuda_graph": args.cuda_graph,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__, "users": num_users, "items": num_items,
        "train_interactions": train_users.numel(), "timed_steps": steps,
        "interactions_per_second": round(rate, 1),
        "seconds_per_epoch": round(train_users.numel() / rate, 3),
        "evaluation_seconds": round(evaluation_seconds, 3),
        "ndcg@10": round(ndcg, 5), "recall@10": round(recall, 5)}))


if __name__ == "__main__":
    main()
