"""What the chapter "Synthetic MNIST" computes and draws (cells narrate and plot)."""
from __future__ import annotations

import math

import numpy as np
import torch

from .synthetic import SyntheticData, Teacher, bpd_256


def temperature_figure(scan: list[dict], chosen: float):
    """LeNet-FID and precision/recall of the teacher's samples against MNIST, per temperature."""
    import matplotlib.pyplot as plt
    t = [r["temperature"] for r in scan]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    ax[0].plot(t, [r["lenet_fid"] for r in scan], "o-")
    ax[0].axvline(chosen, color="k", ls=":", label=f"chosen σ = {chosen}")
    ax[0].set(xlabel="base temperature σ", ylabel="LeNet-FID vs MNIST test", title="FID")
    ax[0].legend()
    ax[1].plot(t, [r["precision"] for r in scan], "s-", label="precision")
    ax[1].plot(t, [r["recall"] for r in scan], "^-", label="recall")
    ax[1].plot(t, [r["classes_covered"] / 10 for r in scan], "x--", label="classes covered / 10")
    ax[1].axvline(chosen, color="k", ls=":")
    ax[1].set(xlabel="base temperature σ", title="precision, recall, coverage", ylim=(0, 1.05))
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


@torch.no_grad()
def mnist_log_p(teacher: Teacher, images_u8: torch.Tensor) -> torch.Tensor:
    """Per-image dequantised log-likelihood (nats) of real MNIST pixels under the teacher: the
    density of ``256 y`` already (it includes the ``-D log 256`` of the dequantisation), so
    ``-lp / (D log 2)`` is its bits/dim (:func:`mnist_bpd`)."""
    gen = torch.Generator().manual_seed(0)
    return torch.cat([teacher.model.log_prob(images_u8[i:i + 500], generator=gen).double()
                      for i in range(0, len(images_u8), 500)])


def mnist_bpd(lp) -> float:
    """Bits/dim of a dequantised MNIST log-likelihood (nats per image, 784 pixels)."""
    return -float(torch.as_tensor(lp).double().mean()) / (784 * math.log(2))


def density_histogram(data: SyntheticData, mnist_lp: torch.Tensor):
    """Bits/dim (MNIST units) of each teacher sample (exact) and of real test digits (bound)."""
    import matplotlib.pyplot as plt
    d = data.images[0].numel()
    s = [bpd_256(v, d) for v in data.log_p]
    m = [mnist_bpd(v) for v in mnist_lp]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bins = np.linspace(min(np.percentile(s, 0.5), np.percentile(m, 0.5)),
                       max(np.percentile(s, 99.5), np.percentile(m, 99.5)), 60)
    ax.hist(s, bins, alpha=0.6, density=True, label="teacher samples (exact density)")
    ax.hist(m, bins, alpha=0.6, density=True, label="MNIST test digits (dequantised bound)")
    ax.set(xlabel="bits/dim under the teacher (MNIST units)", ylabel="density")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def class_figure(pred_synth: torch.Tensor, conf_synth: torch.Tensor, pred_real: torch.Tensor,
                 conf_real: torch.Tensor):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.2))
    hs = np.bincount(pred_synth.numpy(), minlength=10) / len(pred_synth)
    hr = np.bincount(pred_real.numpy(), minlength=10) / len(pred_real)
    x = np.arange(10)
    ax[0].bar(x - 0.2, hr, 0.4, label="MNIST test")
    ax[0].bar(x + 0.2, hs, 0.4, label="synthetic")
    ax[0].set(xticks=x, xlabel="predicted digit", ylabel="fraction", title="class histogram")
    ax[0].legend(fontsize=8)
    bins = np.linspace(0.1, 1, 46)
    ax[1].hist(conf_real.numpy(), bins, alpha=0.6, density=True, label="MNIST test")
    ax[1].hist(conf_synth.numpy(), bins, alpha=0.6, density=True, label="synthetic")
    ax[1].set(xlabel="classifier confidence (max softmax)", title="how sure is the classifier?",
              yscale="log")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


@torch.no_grad()
def classify_with_confidence(x01: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    from .classifier import load_classifier
    model, _ = load_classifier()
    probs = torch.cat([torch.softmax(model(x01[i:i + 1000].contiguous(
        memory_format=torch.channels_last)), 1) for i in range(0, len(x01), 1000)])
    conf, pred = probs.max(1)
    return pred, conf


def browse_frames(data: SyntheticData, frames: int = 12, per_frame: int = 12):
    """Slider frames from the most to the least likely samples: each frame shows ``per_frame``
    samples at one quantile of the exact log-density, each titled with its bits/dim."""
    import matplotlib.pyplot as plt

    from .widgets import to_png
    order = torch.argsort(data.log_p, descending=True)
    n = len(order)
    d = data.images[0].numel()
    out, labels = [], []
    cols = 6
    for f in range(frames):
        start = int(round(f * (n - per_frame) / max(1, frames - 1)))
        idx = order[start:start + per_frame]
        fig, axes = plt.subplots(per_frame // cols, cols, figsize=(1.6 * cols, 1.75 * (per_frame // cols)))
        for ax, i in zip(axes.flat, idx.tolist()):
            ax.imshow(data.images[i, 0].clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{bpd_256(data.log_p[i], d):.3f}", fontsize=8)
            ax.axis("off")
        fig.suptitle("bits/dim (exact, MNIST units) of each sample", fontsize=9)
        fig.tight_layout()
        out.append(to_png(fig))
        plt.close(fig)
        labels.append(f"rank {start + 1}–{start + per_frame} of {n} (most to least likely)")
    return out, labels
