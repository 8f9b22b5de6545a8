"""Score a predictions file with the community's metrics and plot predictions against labels.

    python examples/03_score_predictions_and_plot.py --predictions my_predictions.csv --out results/

A predictions file is a CSV with ``prediction`` and ``label`` columns, as ``mifusion predict`` writes.
Without ``--predictions`` the script first writes a demo file: a least-squares fit on the time-averaged
audio and vision features of mifusion's synthetic data, evaluated on its test split.
"""

import argparse
import csv
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write PNG files, no window
import matplotlib.pyplot as plt
import numpy as np

import mifusion


def pooled_features(split):  # (N, D_audio + D_vision): each modality averaged over its valid frames
    parts = []
    for m in ("audio", "vision"):
        seq, lengths = split.sequences[m], split.lengths[m]
        mask = np.arange(seq.shape[1])[None, :, None] < lengths[:, None, None]
        parts.append((seq * mask).sum(1) / np.maximum(lengths, 1)[:, None])
    return np.concatenate([np.ones((len(split), 1)), *parts], axis=1)


def write_demo_predictions(path: Path, n: int) -> None:
    data = mifusion.load_data(like="mosi", n=n, seed=0)
    train, test = data["train"], data["test"]
    weights = np.linalg.lstsq(pooled_features(train), train.labels, rcond=None)[0]
    prediction = pooled_features(test) @ weights
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "prediction", "label"])
        writer.writerows(zip(test.ids, prediction.round(4), test.labels))


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--predictions", type=Path, help="CSV with prediction and label columns")
parser.add_argument("--out", type=Path, default=Path("runs/example_03"), help="output folder")
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)
if args.predictions is None:
    args.predictions = args.out / "demo_predictions.csv"
    write_demo_predictions(args.predictions, n=300 if os.environ.get("MIFUSION_EXAMPLE_SMALL") else 2199)

with args.predictions.open() as f:
    rows = list(csv.DictReader(f))
pred = np.array([float(r["prediction"]) for r in rows])
label = np.array([float(r["label"]) for r in rows])
metrics = mifusion.score(pred, label, kind="mosi")
print(f"{len(rows)} predictions from {args.predictions}")
print(mifusion.format_table({"predictions": metrics}))

# left: prediction against label; right: the 7-class confusion matrix behind Acc-7 (half-to-even rounding)
fig, (ax_scatter, ax_confusion) = plt.subplots(1, 2, figsize=(10, 4.5))
ax_scatter.scatter(label, pred, s=8, alpha=0.5)
ax_scatter.plot([-3, 3], [-3, 3], color="grey", linewidth=1)
ax_scatter.set(
    xlabel="label", ylabel="prediction", title=f"MAE {metrics['mae']:.3f}, Corr {metrics['corr']:.3f}"
)
classes = [np.rint(np.clip(v, -3, 3)).astype(int) + 3 for v in (label, pred)]
confusion = np.zeros((7, 7), dtype=int)
np.add.at(confusion, (classes[0], classes[1]), 1)
ax_confusion.imshow(confusion, cmap="Blues")
ax_confusion.set(xticks=range(7), yticks=range(7), xticklabels=range(-3, 4), yticklabels=range(-3, 4))
ax_confusion.set(xlabel="predicted class", ylabel="true class", title=f"Acc-7 {metrics['acc7']:.1f} %")
fig.tight_layout()
fig.savefig(args.out / "predictions.png", dpi=100)
print(f"plot written to {args.out / 'predictions.png'}")
