"""Companion of the chapter *Measuring image quality* (``book/measuring_quality.py``): its
sizes per preset, sanity-check figure and table, the corruption browser and the benchmark
table. The measures themselves are :mod:`flowlib.metrics.fid`."""
from __future__ import annotations

import json

import ipywidgets as W
import matplotlib.pyplot as plt

from flowlib.book import widgets
from flowlib.core.manifest import read_manifest
from flowlib.core.paths import results_root, shown
from flowlib.core.presets import pick
from flowlib.data.mnist import load_mnist
from flowlib.metrics.classifier import classifier_dir
from flowlib.metrics.fid import corrupt, fid

# n: images per side for the noise/blur curves; ns: sample sizes; grid_n: widget frames
SIZES = {
    "smoke": dict(n=300, noise=(0.0, 0.1, 0.3), blur=(0.0, 1.0, 2.0), ns=(200, 1000),
                  grid_n=300, grid_noise=(0.0, 0.2, 0.4), grid_blur=(0.0, 1.5)),
    "quick": dict(n=2000, noise=(0.0, 0.05, 0.1, 0.2, 0.3, 0.5), blur=(0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
                  ns=(250, 500, 1000, 2000, 5000, 10_000), grid_n=1000,
                  grid_noise=(0.0, 0.1, 0.2, 0.3, 0.5), grid_blur=(0.0, 1.0, 2.0)),
    "full": dict(n=10_000, noise=(0.0, 0.05, 0.1, 0.2, 0.3, 0.5), blur=(0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
                 ns=(250, 500, 1000, 2000, 5000, 10_000), grid_n=5000,
                 grid_noise=(0.0, 0.1, 0.2, 0.3, 0.5), grid_blur=(0.0, 1.0, 2.0)),
}
BENCHMARK = ("fid-benchmarks", "fid_benchmarks.json")   # under results_root()


def sizes(preset: str) -> dict:
    return pick(preset, SIZES)


def classifier_summary() -> str:
    clf = read_manifest(classifier_dir())["results"]
    return (f"LeNet-like classifier: {clf['parameters']:,} parameters, {clf['feature_dim']}-d "
            f"features, best epoch {clf['best_epoch']}; validation accuracy "
            f"{clf['validation_accuracy']:.2%}, test accuracy {clf['test_accuracy']:.2%}")


def curves_figure(curves: dict):
    """FID (left axis) and precision/recall (right axis) against noise, blur and sample size."""
    fig, axes = plt.subplots(3, 1, figsize=(7.2, 8.4))  # stacked: three panels in a row shrink below legibility
    for ax, key, xlabel in zip(axes, ("noise", "blur", "sample_size"),
                               ("noise std σ (pixels in [0, 1])", "blur std (pixels)",
                                "generated images n (reference: 10 000)")):
        c = curves[key]
        ax.plot(c["levels"], c["fid"], "o-", color="C0", label="FID (LeNet)")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("FID", color="C0")
        if key == "sample_size":
            ax.set_xscale("log")
        ax2 = ax.twinx()
        ax2.plot(c["levels"], c["precision"], "s--", color="C1", label="precision")
        ax2.plot(c["levels"], c["recall"], "^--", color="C2", label="recall")
        ax2.set_ylim(-0.02, 1.02)
        ax2.set_ylabel("precision / recall")
        ax.set_title(key.replace("_", " "))
    lines = axes[0].get_lines() + fig.axes[3].get_lines()
    fig.legend(lines, [line.get_label() for line in lines], loc="upper center", ncol=3,
               bbox_to_anchor=(0.5, 1.07))
    fig.tight_layout()
    return fig


def curves_table(curves: dict) -> str:
    """The numbers behind :func:`curves_figure`, and the class-dropping check, as text."""
    out = []
    for key in ("noise", "blur", "sample_size"):
        c = curves[key]
        out.append(f"{key:>12}: " + "  ".join(
            f"{lvl}: FID {f:.3f} P {p:.2f} R {r:.2f}"
            for lvl, f, p, r in zip(c["levels"], c["fid"], c["precision"], c["recall"])))
    d = curves["drop_classes"]
    for lvl, f, p, r, h, k in zip(d["levels"], d["fid"], d["precision"], d["recall"],
                                  d["class_entropy"], d["classes_covered"]):
        out.append(f"{lvl:>16}: FID {f:.3f}  precision {p:.2f}  recall {r:.2f}  "
                   f"class entropy {h:.2f} nats  classes covered {k}/10")
    return "\n".join(out)


def corruption_grid(noise=(0.0, 0.1, 0.2, 0.3, 0.5), blur=(0.0, 1.0, 2.0), n: int = 1000,
                    features: str = "lenet", reference: str = "mnist-test",
                    n_show: int = 16) -> list[dict]:
    """FID / precision / recall of MNIST-train images under every (blur, noise) pair.

    One row per pair, blur-major: ``{"blur", "noise", "fid", "precision", "recall",
    "class_entropy", "classes_covered", "examples"}`` with ``examples`` the first
    ``n_show`` corrupted images (float (n_show, 1, 28, 28)) for display.
    """
    x = load_mnist("train").images[:n]
    rows = []
    for b in blur:
        for s in noise:
            imgs = corrupt(x, noise=s, blur=b)
            r = fid(imgs, reference=reference, features=features)
            rows.append({"blur": b, "noise": s, "fid": r.fid, "precision": r.precision,
                         "recall": r.recall, "class_entropy": r.class_entropy,
                         "classes_covered": r.classes_covered, "examples": imgs[:n_show]})
    return rows


def _frame(row):
    fig, (a, b) = plt.subplots(1, 2, figsize=(6.4, 2.6), gridspec_kw={"width_ratios": [1, 1.1]})
    a.imshow(widgets.image_grid(row["examples"], nrow=4), cmap="gray_r", vmin=0, vmax=1)
    a.set_axis_off()
    b.barh(["recall", "precision"], [row["recall"], row["precision"]], color=["C2", "C1"])
    b.set_xlim(0, 1)
    b.set_title(f"FID (LeNet) {row['fid']:.3f}\nclasses covered {row['classes_covered']}/10",
                fontsize=10)
    fig.tight_layout()
    return fig


def corruption_browser(grid: list[dict], n: int):
    """Blur (choice) x noise (slider) over precomputed frames; with a kernel, a panel that
    corrupts ``n`` training digits by the reader's own amounts."""
    def recompute(noise, blur):
        x = corrupt(load_mnist("train").images[:n], noise=noise, blur=blur)
        r = fid(x, reference="mnist-test")
        return _frame({"examples": x[:16], "fid": r.fid, "precision": r.precision,
                       "recall": r.recall, "classes_covered": r.classes_covered})

    # named apart from the frames' controls, on the same scale as their labels (σ, pixels)
    controls = {"noise": W.FloatSlider(value=0.15, min=0, max=0.8, step=0.05,
                                       description="your noise σ",
                                       style={"description_width": "initial"}),
                "blur": W.FloatSlider(value=0.5, min=0, max=4, step=0.25,
                                      description="your blur (px)",
                                      style={"description_width": "initial"})}
    blurs = sorted({r["blur"] for r in grid})
    by_blur = {}
    for b in blurs:
        rows = [r for r in grid if r["blur"] == b]
        by_blur[f"blur {b:g} px"] = widgets.frame_slider(
            [_frame(r) for r in rows], [f"noise σ = {r['noise']:g}" for r in rows], "noise")
    plt.close("all")
    # one panel under the whole browser: it stays whatever blur is chosen above
    return W.VBox([widgets.frame_choice(by_blur, "blur"),
                   widgets.recompute_panel(recompute, controls)])


def benchmark_tables() -> list[str]:
    """FID(MNIST train subset, test) by feature network, and the speed figures, from the
    shipped benchmark run (Markdown); a sentence saying how to make it when it is missing."""
    path = results_root(*BENCHMARK)
    if not path.exists():
        return [f"`{shown(path)}` is missing: run "
                "`python benchmarks/fid_bench.py` to make it."]
    bench = json.loads(path.read_text())
    rows = [f"| {name} | {v['n']:,} vs {v['n_reference']:,} | {v['fid']:.3f} | "
            f"{v['precision']:.3f} | {v['recall']:.3f} |" for name, v in bench["train_vs_test"].items()]
    lt, it = bench["lenet_fid_timing"], bench["inception_throughput"]
    return ["**FID(MNIST train subset, MNIST test)** from the shipped benchmark run\n\n"
            "| features | n (generated vs reference) | FID | precision | recall |\n"
            "|---|---|---|---|---|\n" + "\n".join(rows),
            f"Speed on the benchmark machine: one LeNet `fid()` call on {lt['n']:,} images "
            f"(features, statistics, precision/recall, coverage) took {lt['warm_best_s']:.1f} s "
            f"with cached reference statistics; Inception features ran at "
            f"{it['flowlib_images_per_s']:.1f} images/s ({it['ratio']:.2f}× a plain "
            f"pytorch-fid-style loop at batch size {it['batch_size']})."]


# ------------------------------------------------------------------ the lesson's numbers
FLOORS = ("fid-floors-quick", "floors.json")


def findings_box():
    """The chapter's "What this chapter finds" box, from the shipped classifier, FID floors
    and benchmark (``results/classifier``, ``results/fid-floors-quick``,
    ``results/fid-benchmarks``)."""
    from flowlib.book.lesson import findings_box as box
    points = []
    floors = results_root(*FLOORS)
    if floors.exists():
        fl = json.loads(floors.read_text())
        big, small = fl["lenet"], fl["lenet_validation"]
        points.append(
            f"Real digits against real digits do not score 0. Held-out MNIST digits against the "
            f"test set: LeNet-FID **{big['fid']:.2f}** with {big['n']:,} images a side, "
            f"**{small['fid']:.1f} ± {small['fid_se']:.1f}** with {small['n']:,} a side: the same "
            f"two distributions, a {small['fid'] / big['fid']:.0f} times larger FID at the "
            "smaller sample. FIDs are comparable only at equal sample sizes, and every model's "
            "FID in this book is read against this floor at its own size.")
        if "inception" in fl:
            inc = fl["inception"]
            points.append(
                f"The standard Inception network gives the same kind of real digits "
                f"**{inc['fid']:.1f}** at {inc['n']:,} a side: FIDs from different feature "
                "networks are in different units and are never compared with each other.")
    points.append(
        "FID grows as images are corrupted, as a yardstick must, but it is one number for "
        "several failures: unrealistic images (low *precision*), missing parts of the data "
        "(low *recall*), missing digit classes. The book reports all three beside every FID, "
        "from the same features in the same call.")
    clf = read_manifest(classifier_dir())["results"]
    points.append(f"The MNIST-domain features come from a small LeNet-like classifier that reads "
                  f"{clf['test_accuracy']:.2%} of the test digits correctly.")
    return box(points)


def grid_answer(grid: list[dict]) -> str:
    """The answer to the exercise on the corruption browser: what noise does to FID,
    precision and recall at no blur, read from the frames this page computed."""
    rows = sorted((r for r in grid if r["blur"] == 0), key=lambda r: r["noise"])
    if len(rows) < 2:
        return "This build computed a single noise level: rebuild at the `quick` preset."
    a, b = rows[0], rows[-1]
    drop = {k: a[k] - b[k] for k in ("precision", "recall")}
    first = max(drop, key=drop.get)
    return (f"From noise {a['noise']:g} to {b['noise']:g} (no blur), FID goes from "
            f"{a['fid']:.1f} to {b['fid']:.1f}, precision from {a['precision']:.2f} to "
            f"{b['precision']:.2f} and recall from {a['recall']:.2f} to {b['recall']:.2f}: "
            f"{first} falls further, while the classes covered go from {a['classes_covered']} "
            f"to {b['classes_covered']} of 10. "
            + ("Noisy digits are still digits of every class, but they no longer look like "
               "real ones: that is what precision measures, and what FID mixes with everything "
               "else." if b["classes_covered"] >= a["classes_covered"] else
               "Noise this strong even hides some classes from the classifier: FID mixes that "
               "with the loss of realism that precision measures."))


def sample_size_answer(curves: dict) -> str:
    """The answer to the exercise on the sample-size panel, from this page's curves."""
    c = curves["sample_size"]
    (n0, f0), (n1, f1) = (c["levels"][0], c["fid"][0]), (c["levels"][-1], c["fid"][-1])
    return (f"With {n0:,} training digits FID is {f0:.1f}; with {n1:,} it is {f1:.1f}, "
            f"{f0 / f1:.1f} times less, for the very same two distributions. The estimate of a "
            "covariance from few samples is noisy, and noise in the covariances only ever adds "
            "to the Fréchet distance: FID is biased upwards, the more so the smaller the "
            "sample. A model's FID means something only beside another FID at the same sample "
            "size, which is why the book reports its floors (real against real) at the sizes "
            "its models are scored at.")


def reading(curves: dict) -> str:
    """What the sanity curves and the class-dropping check show, read from them (Markdown)."""
    def change(key):
        c = curves[key]
        dp, dr = c["precision"][0] - c["precision"][-1], c["recall"][0] - c["recall"][-1]
        what = ("both precision and recall fall" if min(dp, dr) > 0.1 else
                "recall falls while precision holds" if dr > 0.1 else
                "precision falls while recall holds" if dp > 0.1 else
                "neither precision nor recall moves much")
        return (f"as {key} grows to {c['levels'][-1]:g}, FID goes from {c['fid'][0]:.1f} to "
                f"{c['fid'][-1]:.1f} and {what} (precision {c['precision'][0]:.2f} → "
                f"{c['precision'][-1]:.2f}, recall {c['recall'][0]:.2f} → {c['recall'][-1]:.2f})")
    d = curves["drop_classes"]
    return (f"- FID grows with both corruptions: {change('noise')}; {change('blur')}.\n"
            f"- Removing half of the digit classes (the last two lines) is another failure: the "
            f"digits left are real ones, and precision is {d['precision'][1]:.2f} (against "
            f"{d['precision'][0]:.2f} with all classes), while recall falls to "
            f"{d['recall'][1]:.2f}, the class entropy to {d['class_entropy'][1]:.2f} nats and "
            f"{d['classes_covered'][1]} classes are covered. FID ({d['fid'][1]:.1f}) goes up as "
            "for the corruptions: alone, it cannot tell missing digits from bad ones.")
