"""Two ``qa eval --json`` results side by side: every figure of each, and the largest difference.

python bench/compare_eval.py embedded.json milvus.json --labels embedded milvus-lite
"""

import argparse
import json
from pathlib import Path

FIGURES = ("recall_at_1", "recall_at_5", "recall_at_10", "mrr_at_10", "answer_accuracy", "short_exact", "short_f1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--labels", nargs=2, default=["first", "second"])
    args = parser.parse_args()
    first, second = (json.loads(path.read_text())["retrieval"] for path in (args.first, args.second))
    by_key = {(row["mode"], row["language"]): row for row in second}
    print(f"| retrieval | questions in | figure | {args.labels[0]} | {args.labels[1]} | difference |")
    print("|---|---|---|---:|---:|---:|")
    largest = (0.0, "")
    for row in first:
        other = by_key[(row["mode"], row["language"])]
        for figure in FIGURES:
            if row.get(figure) is None or other.get(figure) is None:
                continue
            difference = other[figure] - row[figure]
            print(
                f"| {row['mode']} | {row['language']} | {figure} | {row[figure]:.3f} | {other[figure]:.3f} | "
                f"{difference:+.3f} |"
            )
            if abs(difference) > abs(largest[0]):
                largest = (difference, f"{row['mode']} {row['language']} {figure}")
    print(f"\nlargest difference: {largest[0]:+.3f} ({largest[1]})")


if __name__ == "__main__":
    main()
