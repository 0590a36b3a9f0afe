"""The oracle table of issue 13: each gradient strategy's shared step against
torchjd's aggregator on the test suite's random and adversarial Jacobians.

    python benchmarks/weighting_oracle.py

Prints, per strategy: the number of Jacobians, the worst cosine to torchjd's
step, the range of the norm ratio divided by the documented one, and the
convention. Needs the test extra (torchjd, cvxpy).
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_weighting_oracle import PAIRS, compare, jacobians  # noqa: E402

CONVENTIONS = {
    "MGDA": "ours = k x torchjd (paper: convex weights, sum 1)",
    "IMTL-G": "ours = k x torchjd (paper: affine weights, sum 1)",
    "PCGrad": "same (paper: sum of projected gradients)",
    "CAGrad(c=0.5)": "ours = k x torchjd (paper: g0 a mean), rescale=0",
    "CAGrad(c=2)": "ours = k x torchjd (paper: g0 a mean), rescale=0",
    "Aligned-MTL": "ours = k x torchjd (prior 1 vs torchjd's 1/k)",
}


def main():
    cases = jacobians()
    print(f"{len(cases)} Jacobians (5 families x 6; 2-5 tasks, 3-12 parameters), float64\n")
    print(f"| {'strategy':<14} | {'min cosine':>10} | {'norm ratio / documented':>23} | convention")
    print(f"|{'-' * 16}|{'-' * 12}|{'-' * 25}|{'-' * 50}")
    for name in PAIRS:
        results = np.array([compare(name, J) for _, J in cases])
        low, high = results[:, 1].min(), results[:, 1].max()
        print(f"| {name:<14} | {results[:, 0].min():>10.7f} | {low:>10.6f} - {high:<10.6f} "
              f"| {CONVENTIONS[name]}")


if __name__ == "__main__":
    main()
