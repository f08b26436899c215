"""Compares the tensors of two saved Polyphony models (model.pt) within a tolerance.

usage: compare_models.py A B [--rtol R] [--atol A]; exit status 0 when all are close.
"""
import argparse
import sys

import torch


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--rtol", type=float, default=1e-4)
    parser.add_argument("--atol", type=float, default=1e-5)
    args = parser.parse_args()
    a = dict(torch.jit.load(args.a).named_parameters())
    b = dict(torch.jit.load(args.b).named_parameters())
    if a.keys() != b.keys():
        print(f"different tensors: {sorted(a)} vs {sorted(b)}")
        return 1
    worst = 0.0
    for name in sorted(a):
        if a[name].shape != b[name].shape:
            print(f"{name}: shapes {tuple(a[name].shape)} vs {tuple(b[name].shape)}")
            return 1
        worst = max(worst, (a[name] - b[name]).abs().max().item())
        if not torch.allclose(a[name], b[name], rtol=args.rtol, atol=args.atol):
            print(f"{name}: max |difference| {worst:.3g} beyond rtol {args.rtol}, atol {args.atol}")
            return 1
    print(f"{len(a)} tensors close, max |difference| {worst:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
