"""Companion of the chapter *The data: real MNIST* (``book/data.py``): the numbers of its
findings box and of its exercises' answers, read from the data as loaded."""
from __future__ import annotations

import numpy as np

from flowlib.book.lesson import findings_box as box
from flowlib.data.mnist import MNIST_SHA256, SPLITS, Split


def pixel_shares(split: Split) -> tuple[float, float, int]:
    """Share of pixels exactly 0, share exactly 255, and how many of the 256 values occur."""
    hist = np.bincount(split.images.numpy().ravel(), minlength=256)
    return hist[0] / hist.sum(), hist[255] / hist.sum(), int(np.count_nonzero(hist))


def class_shares(split: Split) -> np.ndarray:
    counts = np.bincount(split.labels.numpy(), minlength=10)
    return counts / counts.sum()


def findings_box(splits: dict[str, Split]):
    """The chapter's "What this chapter finds" box."""
    zero, full, distinct = pixel_shares(splits["train"])
    share = class_shares(splits["train"])
    sizes = ", ".join(f"{len(splits[s].labels):,} {s}" for s in SPLITS)
    c, h, w = splits["train"].images.shape[1:]
    return box([
        f"Every chapter sees the same MNIST: {sizes} images of {h} × {w} = {c * h * w} pixels, "
        f"the same bytes wherever they were loaded from (SHA-256 `{MNIST_SHA256[:12]}…`).",
        f"Pixels are integers 0 to 255, and {zero:.1%} of the training pixels are exactly 0 "
        f"({full:.1%} exactly 255). A continuous density could pile unbounded density on those "
        "few values and score an ever better likelihood while learning nothing about digits.",
        "So every model of the book sees *dequantised* pixels, $(k + u)/256$ with $u$ uniform "
        "in $[0, 1)$, and reports bits per dimension: a bound on the likelihood of the "
        "discrete image, on a scale where storing the raw bytes costs 8.",
        f"The ten digits are close to balanced: from {share.min():.1%} (digit "
        f"{int(share.argmin())}) to {share.max():.1%} (digit {int(share.argmax())}) of the "
        "training images.",
    ])


def counts_answer(splits: dict[str, Split]) -> str:
    """The answer to the exercise on class counts: the commonest and rarest digit per split,
    and how far a generator with exactly equal shares would be from the test split's."""
    lines = []
    for s in SPLITS:
        share = class_shares(splits[s])
        lines.append(f"{s}: commonest digit {int(share.argmax())} ({share.max():.1%}), rarest "
                     f"{int(share.argmin())} ({share.min():.1%})")
    test = class_shares(splits["test"])
    same = all(int(class_shares(splits[s]).argmax()) == int(test.argmax()) and
               int(class_shares(splits[s]).argmin()) == int(test.argmin()) for s in SPLITS)
    kl = float(np.sum(0.1 * np.log(0.1 / test)))
    return ("; ".join(lines) + "."
            + (" The same digits are the commonest and the rarest in every split." if same else "")
            + f" A generator that made exactly 10% of each digit would score a class KL of "
            f"{kl:.4f} nats against the test split: the KL from a generator's class shares to the "
            "reference images' that the later chapters report beside FID (0 for a generator "
            "with the data's own shares). Such small numbers are balance, not missing modes; a "
            "dropped digit costs far more.")
