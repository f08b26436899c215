"""Checks the FAISS indexes `polyphony export --faiss` wrote against `polyphony recommend`.

usage: check_faiss.py ARCHIVE RECOMMEND_JSON MIN_RECALL
Read with Python's faiss (the faiss-cpu wheel) through scripts/faiss_recommend.py, the exact index
must give recommend's top-k for every user of the JSON (a neighbour pair may swap only where
their scores agree to 1e-5: FAISS sums the products in another order), and the approximate index
must reach MIN_RECALL of the exact top-k on average.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from faiss_recommend import FaissRecommender  # noqa: E402


def check_exact(archive: str, expected: dict) -> FaissRecommender:
    client = FaissRecommender(archive, "exact")
    users = [r["user"] for r in expected["recommendations"]]
    k = expected["k"]
    lists, scores = client.recommend_ids(users, k)
    worst = 0.0
    for user, got, got_scores, want in zip(users, lists, scores, expected["recommendations"]):
        assert len(got) == len(want["items"]), f"{user}: {len(got)} items, recommend gave {len(want['items'])}"
        for rank, (a, b) in enumerate(zip(got, want["items"])):
            gap = abs(got_scores[rank] - want["scores"][rank])
            worst = max(worst, gap)
            assert gap <= 1e-5, f"{user}: rank {rank + 1} scores {got_scores[rank]} against {want['scores'][rank]}"
            if a != b:
                # A swap of two near-equal scores: the item must be at a neighbouring rank.
                assert a in want["items"], f"{user}: rank {rank + 1}: {a} is not in recommend's list {want['items']}"
    print(f"exact index: {len(users)} users, top {k} as polyphony recommend (scores within {worst:.2g})")
    return client


def check_approximate(archive: str, exact: FaissRecommender, k: int, min_recall: float) -> None:
    if not exact.description["approximate"]:
        return
    approximate = FaissRecommender(archive, "approximate")
    import torch
    users = torch.arange(len(exact.module.user_ids))
    want, _ = exact.recommend(users, k)
    got, _ = approximate.recommend(users, k)
    hits = sum(len(set(a) & set(b)) for a, b in zip(got, want))
    total = sum(len(b) for b in want)
    recall = hits / max(total, 1)
    kind = exact.description["approximate"]["type"]
    assert recall >= min_recall, f"{kind}: recall@{k} {recall:.3f} below {min_recall}"
    print(f"approximate index {kind}: recall@{k} {recall:.3f} of the exact lists over {len(users)} users")


def main() -> int:
    archive, recommendations, min_recall = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(recommendations) as f:
        expected = json.load(f)
    exact = check_exact(archive, expected)
    check_approximate(archive, exact, expected["k"], min_recall)
    return 0


if __name__ == "__main__":
    sys.exit(main())
