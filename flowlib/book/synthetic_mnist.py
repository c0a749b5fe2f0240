"""What the chapter "Synthetic MNIST" computes and draws (cells narrate and plot)."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from flowlib.book.widgets import to_png
from flowlib.data.synthetic import SyntheticData, SyntheticError, Teacher
from flowlib.metrics.likelihood import bpd_256


def temperature_figure(scan: list[dict], chosen: float):
    """LeNet-FID and precision/recall of the teacher's samples against MNIST validation digits,
    per base temperature (the scan the rule chose from)."""
    t = [r["temperature"] for r in scan]
    fig, ax = plt.subplots(1, 2, figsize=(7.2, 3.2))
    ax[0].plot(t, [r["lenet_fid"] for r in scan], "o-")
    ax[0].axvline(chosen, color="k", ls=":", label=f"chosen σ = {chosen}")
    ax[0].set(xlabel="base temperature σ", ylabel="LeNet-FID (2 000 samples)",
              title="FID against MNIST validation digits")
    ax[0].legend()
    ax[1].plot(t, [r["precision"] for r in scan], "s-", label="precision")
    ax[1].plot(t, [r["recall"] for r in scan], "^-", label="recall")
    ax[1].plot(t, [r["classes_covered"] / 10 for r in scan], "x--", label="classes covered / 10")
    ax[1].axvline(chosen, color="k", ls=":")
    ax[1].set(xlabel="base temperature σ", title="precision, recall, coverage", ylim=(0, 1.05))
    ax[1].legend(fontsize=9)
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
    d = data.images[0].numel()
    s = [bpd_256(v, d) for v in data.log_p]
    m = [mnist_bpd(v) for v in mnist_lp]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bins = np.linspace(min(np.percentile(s, 0.5), np.percentile(m, 0.5)),
                       max(np.percentile(s, 99.5), np.percentile(m, 99.5)), 60)
    ax.hist(s, bins, alpha=0.6, density=True, label="teacher samples (exact density)")
    ax.hist(m, bins, alpha=0.6, density=True, label="MNIST test digits (dequantised bound)")
    ax.set(xlabel="bits/dim under the teacher (MNIST units)", ylabel="density")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def browse_frames(data: SyntheticData, frames: int = 12, per_frame: int = 12):
    """Slider frames from the most to the least likely samples: each frame shows ``per_frame``
    samples at one quantile of the exact log-density, each titled with its bits/dim."""

    order = torch.argsort(data.log_p, descending=True)
    n = len(order)
    d = data.images[0].numel()
    out, labels = [], []
    cols = 6
    for f in range(frames):
        start = int(round(f * (n - per_frame) / max(1, frames - 1)))
        idx = order[start:start + per_frame]
        fig, axes = plt.subplots(per_frame // cols, cols, figsize=(1.2 * cols, 1.4 * (per_frame // cols)))
        for ax, i in zip(axes.flat, idx.tolist()):
            ax.imshow(data.images[i, 0].clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{bpd_256(data.log_p[i], d):.3f}", fontsize=10)
            ax.axis("off")
        fig.suptitle("bits/dim (exact, MNIST units) of each sample", fontsize=11)
        fig.tight_layout()
        out.append(to_png(fig))
        plt.close(fig)
        labels.append(f"rank {start + 1}–{start + per_frame} of {n} (most to least likely)")
    return out, labels


# ------------------------------------------------------------------ the new teacher, as shipped
def teacher_summary(teacher: Teacher) -> str:
    """Who the teacher is and how it was made, from its manifest."""
    m, rec = teacher.manifest, teacher.manifest["results"]
    tr = m["config"].get("training") or {}
    return (f"Teacher: the `{rec['size']}` Real NVP, {rec['parameters']:,} parameters, base "
            f"temperature σ = {teacher.temperature}, SHA-256 `{teacher.sha256[:16]}…`. Trained by "
            f"NLL on MNIST for {tr.get('steps', '?'):,} steps ({tr.get('train_minutes', '?')} "
            f"training minutes, {tr.get('device', '?')}, {tr.get('threads', '?')} thread(s)); "
            f"test bits/dim on all {rec['test_images']:,} MNIST test digits: "
            f"**{rec['test_bpd_at_T1']:.4f}** for the trained flow (σ = 1), "
            f"**{rec['test_bpd']:.4f}** for the teacher (σ = {teacher.temperature}). "
            f"Teacher built at commit `{str(m.get('commit'))[:10]}`.")


def aims_table(teacher: Teacher) -> str:
    """The aims of a realistic teacher against what the shipped teacher reaches, beside real
    digits measured the same way."""
    rec = teacher.manifest["results"]
    q, real, aims = rec["quality"], rec["real_reference"], teacher.manifest["config"]["aims"]
    met = q["aims_met"]
    yes = {True: "met", False: "**not met**"}
    return "\n".join([
        f"| measure ({q['n']:,} uncurated samples vs MNIST test) | aim | synthetic MNIST | "
        f"real digits (MNIST validation) | met? |",
        "|---|---|---|---|---|",
        f"| LeNet-FID | ≤ {aims['lenet_fid_max']:g} | {q['lenet_fid']:.1f} | {real['lenet_fid']:.2f} | {yes[met['lenet_fid']]} |",
        f"| mean classifier confidence | ≥ {aims['confidence_min']} | {q['mean_confidence']:.3f} | {real['mean_confidence']:.3f} | {yes[met['confidence']]} |",
        f"| largest class share | ≤ {aims['class_share_max']:.0%} | {q['max_class_share']:.1%} | — | {yes[met['class_balance']]} |",
        f"| classes present | {aims['classes']} | {q['classes_present']} | 10 | {yes[met['classes']]} |",
        f"| precision / recall | — | {q['precision']:.3f} / {q['recall']:.3f} | {real['precision']:.3f} / {real['recall']:.3f} | — |"])


def samples_beside_real(directory):
    """100 uncurated teacher samples (no selection, fixed seed) beside 100 real test digits."""
    from PIL import Image
    fig, ax = plt.subplots(1, 2, figsize=(7.2, 3.9))
    for a, name, title in ((ax[0], "samples.png", "synthetic MNIST: 100 uncurated teacher samples"),
                           (ax[1], "real.png", "MNIST: the first 100 test digits")):
        a.imshow(np.asarray(Image.open(directory / name)), cmap="gray")
        a.set_title(title, fontsize=10)
        a.axis("off")
    fig.tight_layout()
    return fig


def class_share_figure(teacher: Teacher):
    q = teacher.manifest["results"]["quality"]
    fig, ax = plt.subplots(figsize=(6, 2.8))
    ax.bar(range(10), q["class_shares"], color="C1")
    ax.axhline(teacher.manifest["config"]["aims"]["class_share_max"], color="k", ls=":",
               label="aim: no class above this")
    ax.axhline(0.1, color="0.6", lw=0.8, label="uniform")
    ax.set(xticks=range(10), xlabel="digit the classifier sees", ylabel="share of samples")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def fid_curve_figure(teacher: Teacher):
    """LeNet-FID (2 000 samples at σ = 1 against MNIST validation) and validation bits/dim over
    the teacher's training: whether more training was still buying sample quality."""
    curve = teacher.manifest["config"]["training"]["fid_curve"]
    t = [c["train_minutes"] for c in curve]
    fig, ax = plt.subplots(1, 2, figsize=(7.2, 3.2))
    ax[0].plot(t, [c["lenet_fid_T1"] for c in curve], "o-", ms=3)
    ax[0].set(xlabel="training minutes", ylabel="LeNet-FID (σ = 1, n = 2 000)", yscale="log",
              title="sample quality over training")
    ax[1].plot(t, [c["val_bpd"] for c in curve], "o-", ms=3, color="C2")
    ax[1].set(xlabel="training minutes", ylabel="validation bits/dim", title="likelihood over training")
    fig.tight_layout()
    return fig


def entropy_text(teacher: Teacher) -> str:
    e = teacher.manifest["results"]["entropy"]
    return (f"H(teacher) = **{e['nats']:.2f} ± {e['se']:.2f} nats** per image (n = {e['n']:,} "
            f"teacher samples, the synthetic test split), i.e. **{e['bits_per_dim']:.4f} ± "
            f"{e['bits_per_dim_se']:.4f} bits/dim** in MNIST's units.")


def analytic_check_table(teacher: Teacher, data: SyntheticData, ratios=(0.8, 0.95, 1.2),
                         per_row: int = 2000) -> str:
    """The estimated KL from the teacher to its own flow at another base temperature s, against
    the exact value D/2 (t²/s² − 1 − ln t²/s²), and the latent chi-square test of the samples.

    Each row reads its own block of ``per_row`` consecutive samples of ``data`` (fewer when
    ``data`` holds less than one block per row, as at smoke): the blocks are disjoint, so the
    rows are independent checks, not one check shown several times. The chi-square test reads
    all the rows' samples."""
    from flowlib.metrics.likelihood import kl_to_teacher, latent_chi2, temperature_kl
    t = teacher.temperature
    n = min(per_row, len(data) // len(ratios))
    if n < 2:
        raise SyntheticError(f"{len(data)} samples cannot give {len(ratios)} rows a block each.")
    rows = ["| student: teacher's weights at base temperature | its samples | exact KL (nats) | "
            "estimated KL (nats) | difference / SE |", "|---|---|---|---|---|"]
    for k, r in enumerate(ratios):
        block = slice(k * n, (k + 1) * n)
        est = kl_to_teacher(teacher.model.with_base_temperature(r * t),
                            SyntheticData(data.images[block], data.log_p[block], data.split,
                                          data.teacher_sha256))
        exact = temperature_kl(teacher.dim, t, r * t)
        rows.append(f"| {r:g} σ = {r * t:.3f} | {k * n + 1:,} to {(k + 1) * n:,} | {exact:.3f} | "
                    f"{est.value:.3f} ± {est.se:.3f} | {(est.value - exact) / est.se:+.2f} |")
    chi = latent_chi2(teacher.model, data.images[:len(ratios) * n], t)
    return "\n".join(rows) + (
        f"\n\nEach row reads its own {n:,} samples of the {data.split} split: "
        f"{len(ratios)} independent checks. Latents of all {chi['n']:,}: mean |z|²/(σ² D) = "
        f"{chi['mean_sq']:.4f} (1 expected, standard error {chi['mean_sq_se']:.4f}); "
        f"Kolmogorov-Smirnov p-value of |z|²/σ² against χ²({chi['dim']}) = {chi['ks_p']:.2f}; "
        f"largest |mean| of a latent coordinate = {chi['max_mean_z']:.2f} standard errors "
        f"(of {chi['dim']}).")


def edge_rate_text() -> str:
    """What the shipped measurement (``results/teacher/edge-rate.json``) says of the draws
    that land on the edge of the support and are drawn again."""
    import json

    from flowlib.data.synthetic import teacher_dir
    from flowlib.studies.teacher import EDGE_RATE_COMMAND, EDGE_RATE_FILE, edge_rate_claim
    rec = json.loads((teacher_dir() / EDGE_RATE_FILE).read_text())
    t = rec["total"]
    claim = edge_rate_claim(rec)
    return (f"Measured (`{EDGE_RATE_COMMAND}`, `results/teacher/{EDGE_RATE_FILE}`): "
            f"{claim[0].upper() + claim[1:]}, with {t['edge_pixels']} pixels on the edge among "
            f"them and {t['redraws']} redraws in all. The stored log-densities are those of the "
            f"untruncated teacher; the data's own are higher by −log(1 − P(edge)) = "
            f"{-math.log1p(-t['rate']):.1e} nats per image (at most "
            f"{-math.log1p(-t['upper95']):.1e} at 95% confidence), far below any standard error "
            f"in this book. The nearest any kept pixel comes to the edge is "
            f"{t['closest_to_edge']:.1e}.")


# ------------------------------------------------------------------ the lesson's numbers
AIM_NAMES = {"lenet_fid": "LeNet-FID", "confidence": "classifier confidence",
             "class_balance": "class balance", "classes": "all ten classes"}


def findings_box(teacher: Teacher):
    """The chapter's "What this chapter finds" box, from the shipped teacher's manifest."""
    from flowlib.book.lesson import findings_box as box
    m, rec = teacher.manifest, teacher.manifest["results"]
    tr = m["config"].get("training") or {}
    e, q, real = rec["entropy"], rec["quality"], rec["real_reference"]
    met = q["aims_met"]
    missed = [AIM_NAMES.get(k, k) for k, ok in met.items() if not ok]
    return box([
        f"The teacher is the book's `{rec['size']}` Real NVP trained by NLL on MNIST "
        f"({tr.get('train_minutes', '?')} training minutes), frozen, with a base temperature "
        f"σ = {teacher.temperature} chosen by a rule fixed before its training ended. Every "
        "sample comes with its exact log-density.",
        f"So the data's entropy is known: H(teacher) = **{e['bits_per_dim']:.4f} ± "
        f"{e['bits_per_dim_se']:.4f} bits/dim**, the floor under every student's NLL, and a "
        "student's NLL minus it is its exact KL divergence from the truth.",
        f"It looks like MNIST only in part: LeNet-FID **{q['lenet_fid']:.0f}** against the "
        f"test digits, where real digits score {real['lenet_fid']:.1f}; "
        f"{sum(met.values())} of the {len(met)} aims set in advance "
        f"{'is' if sum(met.values()) == 1 else 'are'} met"
        + (f" (not: {', '.join(missed)})" if missed else "") + ". The experiments need a "
        "known density more than a perfect likeness.",
        "The exact density is checked against numbers it could get wrong: an analytic KL and a "
        "χ² test of the latents (below).",
    ])


def temperature_answer(teacher: Teacher) -> str:
    """KL from the teacher to the flow it was made from (the same weights at σ = 1)."""
    from flowlib.metrics.likelihood import nats_to_bits_per_dim, temperature_kl
    kl = temperature_kl(teacher.dim, teacher.temperature, 1.0)
    bpd = nats_to_bits_per_dim(kl, teacher.dim)
    h = teacher.manifest["results"]["entropy"]["bits_per_dim"]
    return (f"{kl:.2f} nats per image, {bpd:.4f} bits/dim: the formula "
            f"$\\tfrac D2\\,(t^2/s^2 - 1 - \\ln t^2/s^2)$ with $t = {teacher.temperature}$, "
            f"$s = 1$, $D = {teacher.dim}$. Lowering the temperature changed the images visibly "
            f"(the temperature scan above) but the density by only {bpd / h:.1%} of the "
            f"teacher's entropy in bits/dim ({h:.4f}). A student that had learnt the untempered "
            "flow perfectly would still be this far from the truth, and the exact KL would say "
            "so.")
