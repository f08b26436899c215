"""Checks an archive written by `polyphony export` against `polyphony recommend` on the same run.

usage: check_export.py ARCHIVE RECOMMEND_JSON
The archive's recommend_ids must give the same lists, and its score() the same scores (to 1e-5),
on the CPU and, when there is one, on a CUDA device.
"""
import json
import sys

import torch


def check(archive: str, expected: dict, device: str) -> None:
    module = torch.jit.load(archive, map_location=device)
    users = [r["user"] for r in expected["recommendations"]]
    k = expected["k"]
    lists = module.recommend_ids(users, k)
    for user, got, want in zip(users, lists, expected["recommendations"]):
        assert got == want["items"], f"{device}: {user}: {got} != {want['items']}"
    dense = module.user_index(users)
    item_position = {item: i for i, item in enumerate(module.item_ids)}
    items = torch.tensor([[item_position[i] for i in r["items"]] for r in expected["recommendations"]],
                         device=device)
    scores = module.score(dense, items).cpu().double()
    reference = torch.tensor([r["scores"] for r in expected["recommendations"]], dtype=torch.double)
    worst = (scores - reference).abs().max().item()
    assert worst <= 1e-5, f"{device}: scores differ from the C++ model's by {worst:.3g}"
    top_items, top_scores = module.recommend(dense, k)
    assert torch.equal(top_items.cpu(), items.cpu()), f"{device}: recommend() differs"
    print(f"ok on {device}: {len(users)} users, top {k} equal, scores within {worst:.2g} "
          f"(model {module.kind})")


def main() -> int:
    archive, recommendations = sys.argv[1], sys.argv[2]
    with open(recommendations) as f:
        expected = json.load(f)
    check(archive, expected, "cpu")
    if torch.cuda.is_available():
        check(archive, expected, "cuda")
    return 0


if __name__ == "__main__":
    sys.exit(main())
