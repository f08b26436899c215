#!/usr/bin/env python3
"""Top-k items from the FAISS indexes `polyphony export --faiss` writes, as a serving client would.

usage: faiss_recommend.py ARCHIVE [--index exact|approximate] [-k K]
                          (--users ID,ID,... | --all-users) [--json]

The archive (model.ts.pt) gives the user side, user_vectors(users): [B, M, F], and the items each
user already has, known_items_of(user); ARCHIVE.faiss.json names the indexes. Each of a user's
M vectors searches k plus the number of its known items, the known items are dropped (over-fetch
and filter), an item's score is the largest over the user's vectors, and the best k remain: with
the exact index the same lists as `polyphony recommend --exclude all`.

Needs torch and faiss (the faiss-cpu wheel) in the Python that runs it.
"""
import argparse
import json
import sys
from pathlib import Path

import faiss
import numpy as np
import torch


class FaissRecommender:
    def __init__(self, archive: str, index: str = "exact"):
        self.module = torch.jit.load(archive, map_location="cpu")
        description_path = Path(archive + ".faiss.json")
        self.description = json.loads(description_path.read_text())
        entry = self.description[index]
        if not entry:
            raise SystemExit(f"{description_path}: no {index} index was written")
        self.index = faiss.read_index(str(description_path.parent / entry["file"]))
        self.item_ids = list(self.module.item_ids)

    def recommend(self, users: torch.Tensor, k: int):
        """Dense user indices -> (items [B][<=k], scores [B][<=k]), best first."""
        vectors = self.module.user_vectors(users).float()  # [B, M, F]
        batch, per_user, dim = vectors.shape
        known = [set(self.module.known_items_of(int(u)).tolist()) for u in users]
        fetch = min(self.index.ntotal, k + max((len(s) for s in known), default=0))
        scores, ids = self.index.search(
            np.ascontiguousarray(vectors.reshape(batch * per_user, dim).numpy()), fetch)
        items, values = [], []
        for b in range(batch):
            best = {}
            for row in range(b * per_user, (b + 1) * per_user):
                for item, score in zip(ids[row].tolist(), scores[row].tolist()):
                    if item >= 0 and item not in known[b] and score > best.get(item, -np.inf):
                        best[item] = score
            ranked = sorted(best.items(), key=lambda pair: (-pair[1], pair[0]))[:k]
            items.append([item for item, _ in ranked])
            values.append([score for _, score in ranked])
        return items, values

    def recommend_ids(self, users: list, k: int):
        dense = self.module.user_index(users)
        unknown = [u for u, d in zip(users, dense.tolist()) if d < 0]
        if unknown:
            raise SystemExit(f"unknown user ids: {', '.join(unknown[:5])}")
        items, scores = self.recommend(dense, k)
        return [[self.item_ids[i] for i in row] for row in items], scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive")
    parser.add_argument("--index", choices=["exact", "approximate"], default="exact")
    parser.add_argument("-k", type=int, default=10)
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--users", help="comma-separated external user ids")
    who.add_argument("--all-users", action="store_true")
    parser.add_argument("--json", action="store_true", help="JSON instead of user,rank,item lines")
    args = parser.parse_args()
    client = FaissRecommender(args.archive, args.index)
    users = list(client.module.user_ids) if args.all_users else args.users.split(",")
    lists, scores = client.recommend_ids(users, args.k)
    if args.json:
        print(json.dumps({"k": args.k, "index": args.index, "recommendations": [
            {"user": u, "items": items, "scores": s} for u, items, s in zip(users, lists, scores)]},
            indent=2))
    else:
        for user, items in zip(users, lists):
            for rank, item in enumerate(items, 1):
                print(f"{user},{rank},{item}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
