"""Experiment 1's analysis: what the chapter "Experiment 1" computes and draws.

A study folder (``results/exp1-quick`` as shipped, or one the chapter makes) holds one
run per (loss, seed): its ``manifest.json`` (written by :mod:`flowlib.runner`),
``metrics.jsonl`` (quality checks every k steps, :mod:`flowlib.monitor`), fixed-noise
``grids/step-NNNNNN.png`` and ``final.json`` (:mod:`flowlib.evaluate`). Everything
here reads those files; nothing is typed in by hand.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .paths import REPO_ROOT, RESULTS

LOSS_ORDER = ("nll", "nsgan", "hybrid")
LOSS_LABEL = {"nll": "NLL", "nsgan": "NSGAN", "hybrid": "hybrid (λ·NLL + NSGAN)",
              "minimax": "minimax"}
LOSS_COLOR = {"nll": "C0", "nsgan": "C3", "hybrid": "C2", "minimax": "C1"}


class StudyMissing(FileNotFoundError):
    """No finished run of the study where it was looked for."""


@dataclass
class Run:
    name: str
    loss: str
    seed: int
    directory: Path
    manifest: dict
    rows: list
    final: dict | None
    grids: dict = field(default_factory=dict)   # step -> png path
    spec: dict = field(default_factory=dict)    # what the job was (job.json): loss, seed, ...

    @property
    def outcome(self) -> str:
        return self.manifest.get("results", {}).get("outcome", "done")

    @property
    def events(self) -> list[dict]:
        """Instability events by today's rules (:func:`flowlib.monitor.replay` of the record:
        the same as the run logged, plus any rule added since), and a divergence if any."""
        from .monitor import replay
        return replay(self.rows) + [r for r in self.rows if r.get("event") == "diverged"]

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of the quality/validation rows holding ``key`` (None -> nan)."""
        pts = [(r["step"], r[key]) for r in self.rows if key in r and not r.get("event")]
        if not pts:
            return np.array([]), np.array([])
        s, v = zip(*pts)
        return np.asarray(s), np.array([np.nan if x is None else x for x in v], dtype=float)


def value_at(run: Run, key: str, step: int | None = None):
    """``key`` at ``step`` (None: the last check); None when the run never recorded it."""
    s, v = run.series(key)
    if not len(s):
        return None
    if step is None:
        return float(v[-1])
    hit = np.nonzero(s == step)[0]
    return float(v[hit[0]]) if len(hit) else None


def load_study(root) -> list[Run]:
    """Every finished run under ``root``, in loss then seed order."""
    from .manifest import read_manifest
    from .train import read_metrics

    root = Path(root)
    runs = []
    for m in sorted(root.glob("*/manifest.json")):
        d = m.parent
        man = read_manifest(d)
        spec = json.loads((d / "job.json").read_text()).get("spec", {}) if (d / "job.json").exists() else {}
        final = json.loads((d / "final.json").read_text()) if (d / "final.json").exists() else None
        grids = {int(p.stem.split("-")[1]): p for p in sorted((d / "grids").glob("step-*.png"))}
        runs.append(Run(d.name, spec.get("loss", man["config"].get("loss")),
                        int(spec.get("seed", man.get("seed") or 0)), d, man, read_metrics(d),
                        final, grids, spec))
    if not runs:
        raise StudyMissing(f"No finished run under {root}: run `python -m flowlib experiment "
                           "nll-vs-gan --preset quick` first (or build the book with the shipped "
                           "results/).")
    order = {k: i for i, k in enumerate(LOSS_ORDER)}
    return sorted(runs, key=lambda r: (order.get(r.loss, 99), r.seed))


def locate(preset: str, rerun: bool = False, seeds=(0,), study: str = "nll-vs-gan",
           prefix: str = "exp1", marker: str = "final.json") -> tuple[Path, str]:
    """The study to show and a sentence saying which it is.

    Shipped ``results/<prefix>-<preset>`` unless ``rerun``; at ``smoke``, or when the
    preset's results are absent, the shipped ``quick`` study. With ``rerun`` the study is run
    now at ``preset`` into ``runs/<prefix>-<preset>-book``; when nothing is shipped, a
    ``smoke``-size study is run now instead (a book build never starts hours of training
    unasked), and the sentence says so.
    """
    from .presets import check_preset

    check_preset(preset)
    if not rerun:
        for p in dict.fromkeys((preset, "quick")):
            root = RESULTS / f"{prefix}-{p}"
            if any(root.glob(f"*/{marker}")):
                note = ("the shipped study" if p == preset else
                        f"the shipped `quick` study (none is shipped for `{preset}`; pass "
                        "`rerun=True` to run it)")
                return root, f"Showing {note}: `{root.relative_to(REPO_ROOT)}`."
    run_preset = preset if rerun else "smoke"
    looked = "quick" if preset == "smoke" else preset
    root = REPO_ROOT / "runs" / f"{prefix}-{run_preset}-book"
    run_study(run_preset, seeds, root, study)
    why = ("" if rerun else f" **No `{looked}` results are shipped yet** (`results/{prefix}-"
           f"{looked}`), so this page shows a smoke-size run: it exercises the code, its numbers "
           "mean nothing. Run the study (command above) to fill it.")
    return root, (f"Showing a study run just now at `{run_preset}` (seeds {list(seeds)}) in "
                  f"`{root.relative_to(REPO_ROOT)}`.{why}")


def run_study(preset: str, seeds, root: Path, study: str = "nll-vs-gan") -> None:
    """Run (or finish) a study at ``preset`` into ``root``: the command line's code path."""
    from .evaluate import final_evaluation
    from .experiments import STUDIES, study_jobs
    from .runner import run_jobs

    _, jobs = study_jobs(study, preset, seeds)
    for r in run_jobs(jobs, root):
        if STUDIES[study][2] and (r.out / "model.pt").exists():
            final_evaluation(r.out, preset)


# ------------------------------------------------------------------ numbers
def _stat(values) -> tuple[float, float, int]:
    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if len(v) == 0:
        return float("nan"), float("nan"), 0
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0, len(v)


def fmt(values, digits: int = 2) -> str:
    """'mean ± sd' over seeds (sd with n - 1), or the single value, or '—'."""
    m, s, n = _stat(values)
    if n == 0:
        return "—"
    if abs(m) >= 1e4:
        return f"{m:.3g}" + (f" ± {s:.2g}" if n > 1 else "")
    return f"{m:.{digits}f}" + (f" ± {s:.{digits}f}" if n > 1 else "")


def final_rows(runs: list[Run]) -> list[dict]:
    """One row per run: its final figures (None where absent, e.g. a diverged run)."""
    rows = []
    for r in runs:
        f = r.final or {}
        res = r.manifest.get("results", {})
        rows.append({"run": r.name, "loss": r.loss, "seed": r.seed, "outcome": r.outcome,
                     "test_bpd": f.get("test_bpd"),
                     "lenet_fid": (f.get("lenet") or {}).get("fid"),
                     "precision": (f.get("lenet") or {}).get("precision"),
                     "recall": (f.get("lenet") or {}).get("recall"),
                     "classes": (f.get("lenet") or {}).get("classes_covered"),
                     "inception_fid": (f.get("inception") or {}).get("fid"),
                     "inception_n": (f.get("inception") or {}).get("n"),
                     "lenet_n": (f.get("lenet") or {}).get("n"),
                     "events": len([e for e in r.events if e.get("event") == "instability"]),
                     "diverged_at": res.get("diverged_at_step"),
                     "steps": res.get("steps"),
                     "minutes": r.manifest.get("wall_time_s", 0) / 60,
                     "device": r.manifest.get("device", "?")})
    return rows


def minutes_by_device(rows: list[dict]) -> str:
    """Wall minutes per run, 'mean ± sd (device)' for each device: a CPU run's minutes and
    a GPU run's are not one population."""
    devices = sorted({r["device"] for r in rows})
    return "; ".join(fmt([r["minutes"] for r in rows if r["device"] == d], 1)
                     + (f" ({d})" if len(devices) > 1 else "") for d in devices)


def summary(runs: list[Run]) -> dict[str, dict]:
    """Per loss: 'mean ± sd' strings and raw lists over seeds."""
    out = {}
    rows = final_rows(runs)
    for loss in [l for l in LOSS_ORDER if any(r["loss"] == l for r in rows)]:
        rs = [r for r in rows if r["loss"] == loss]
        col = {k: [r[k] for r in rs] for k in rs[0]}
        out[loss] = {"seeds": len(rs), "raw": col,
                     "test_bpd": fmt(col["test_bpd"], 3), "lenet_fid": fmt(col["lenet_fid"], 1),
                     "inception_fid": fmt(col["inception_fid"], 1),
                     "precision": fmt(col["precision"], 3), "recall": fmt(col["recall"], 3),
                     "classes": fmt(col["classes"], 1),
                     "events": sum(col["events"]),
                     "diverged": sum(d is not None for d in col["diverged_at"]),
                     "minutes": minutes_by_device(rs)}
    return out


def markdown_table(runs: list[Run]) -> str:
    s = summary(runs)
    n = [r for r in final_rows(runs) if r["lenet_n"]]
    ln = n[0]["lenet_n"] if n else "?"
    inc = [r["inception_n"] for r in final_rows(runs) if r["inception_n"]]
    head = ("| loss | seeds | test bits/dim | LeNet-FID (n={}) | Inception-FID (n={}) | precision "
            "| recall | classes covered | instability events | diverged | wall min/run |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|\n").format(ln, inc[0] if inc else "—")
    body = "".join(
        f"| {LOSS_LABEL.get(k, k)} | {v['seeds']} | {v['test_bpd']} | {v['lenet_fid']} | "
        f"{v['inception_fid']} | {v['precision']} | {v['recall']} | {v['classes']} | "
        f"{v['events']} | {v['diverged']} | {v['minutes']} |\n" for k, v in s.items())
    return head + body


def findings(runs: list[Run]) -> dict[str, dict]:
    """F1 and F2 as these runs show them: a status and the numbers behind it.

    F1 (NLL does well in FID against NSGAN): compared seed by seed (same initialisation);
    *supported* if NLL's final LeNet-FID is lower in every seed, *not supported* if in none,
    *mixed* otherwise; the Inception-FID verdict is reported beside it.
    F2 (NSGAN training is unstable): *supported* if any NSGAN run diverged or raised an
    instability event, or its seeds spread more in FID than NLL's (relative sd); *not
    supported* otherwise.
    """
    rows = final_rows(runs)
    by = {(r["loss"], r["seed"]): r for r in rows}
    seeds = sorted({r["seed"] for r in rows if ("nll", r["seed"]) in by and ("nsgan", r["seed"]) in by})
    out = {}
    # A verdict against a generator that collapsed to one class says little about a working
    # GAN: count those runs so the reader sees it beside the verdict.
    collapsed = sum(by["nsgan", s]["classes"] is not None and by["nsgan", s]["classes"] <= 1
                    for s in seeds)
    for key, label in (("lenet_fid", "LeNet-FID"), ("inception_fid", "Inception-FID")):
        pairs = [(by["nll", s][key], by["nsgan", s][key]) for s in seeds
                 if by["nll", s][key] is not None and by["nsgan", s][key] is not None]
        wins = sum(a < b for a, b in pairs)
        status = ("no data" if not pairs else "supported" if wins == len(pairs)
                  else "not supported" if wins == 0 else "mixed")
        out[f"F1 ({label})"] = {
            "status": status,
            "numbers": (f"NLL lower {label} than NSGAN in {wins}/{len(pairs)} seeds; "
                        f"NLL {fmt([a for a, _ in pairs], 1)} vs NSGAN {fmt([b for _, b in pairs], 1)}"
                        + (f"; {collapsed}/{len(seeds)} NSGAN runs ended on a single class "
                           "(collapsed)" if collapsed else ""))}
    ns = [r for r in rows if r["loss"] == "nsgan"]
    nl = [r for r in rows if r["loss"] == "nll"]

    def rel_sd(rs):
        m, s, n = _stat([r["lenet_fid"] for r in rs])
        return s / m if n > 1 and m else float("nan")

    unstable = sum(r["events"] > 0 or r["diverged_at"] is not None for r in ns)
    spread_ns, spread_nl = rel_sd(ns), rel_sd(nl)
    supported = unstable > 0 or (math.isfinite(spread_ns) and math.isfinite(spread_nl)
                                 and spread_ns > spread_nl)
    out["F2 (from initialisation)"] = {
        "status": "no data" if not ns else "supported" if supported else "not supported",
        "numbers": (f"{unstable}/{len(ns)} NSGAN runs diverged or raised an instability event "
                    f"(NLL: {sum(r['events'] > 0 or r['diverged_at'] is not None for r in nl)}/"
                    f"{len(nl)}); seed-to-seed relative sd of LeNet-FID: NSGAN "
                    f"{spread_ns:.2f}, NLL {spread_nl:.2f}")}
    return out


# ------------------------------------------------------------------ figures
CURVES = (("val_bpd", "validation bits/dim (exact)", True),
          ("fid", "LeNet-FID (2 000 samples vs validation)", True),
          ("precision", "precision", False), ("recall", "recall", False),
          ("classes_covered", "classes covered (of 10)", False))


def plot_band(ax, runs: list[Run], key: str, *, color: str, label: str, ls: str = "-",
              alpha: float = 0.2) -> None:
    """``key`` over steps for a group of runs (seeds): their mean as a line, min–max as a band."""
    import warnings
    series = [s for s in (r.series(key) for r in runs) if len(s[0])]
    if not series:
        return
    steps = sorted(set().union(*[set(s[0].tolist()) for s in series]))
    mat = np.full((len(series), len(steps)), np.nan)
    for i, (s, v) in enumerate(series):
        mat[i, [steps.index(x) for x in s]] = v
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a step where every seed is nan
        mean, lo, hi = np.nanmean(mat, 0), np.nanmin(mat, 0), np.nanmax(mat, 0)
    ax.plot(steps, mean, ls, marker="o", ms=3, color=color,
            label=f"{label} ({len(series)} seed{'s' if len(series) > 1 else ''})")
    if len(series) > 1:
        ax.fill_between(steps, lo, hi, color=color, alpha=alpha)


def log_axis(ax, which: str = "y") -> None:
    """A log scale labelled with plain numbers (2, 5, 10, 20 ...), not 2x10^0."""
    from matplotlib.ticker import FuncFormatter
    fmt_ = FuncFormatter(lambda v, _: f"{v:g}")
    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    axis.set_major_formatter(fmt_)
    axis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:g}"[0] in "25" else ""))


def curves_figure(runs: list[Run], keys=CURVES):
    """Each quantity over training steps: per loss, the mean over seeds and the min–max band."""
    import matplotlib.pyplot as plt

    n = ((runs[0].rows[0].get("train") or {}).get("quality_images") if runs and runs[0].rows else None)
    fig, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 3.4))
    for ax, (key, title, log) in zip(np.atleast_1d(axes), keys):
        title = title.replace("2 000", f"{n:,}".replace(",", " ") if n else "?")
        for loss in LOSS_ORDER:
            plot_band(ax, [r for r in runs if r.loss == loss], key, color=LOSS_COLOR[loss],
                      label=LOSS_LABEL[loss])
        if log:
            log_axis(ax)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def side_by_side_frames(runs: list[Run], title) -> tuple[list, list[str]]:
    """Slider frames: at each checked step, the runs' fixed-noise grids side by side, each
    titled ``title(run)``."""
    import matplotlib.pyplot as plt
    from PIL import Image

    from .widgets import to_png

    steps = sorted(set().union(*[set(r.grids) for r in runs])) if runs else []
    frames, labels = [], []
    for step in steps:
        fig, axes = plt.subplots(1, len(runs), figsize=(3.2 * len(runs), 3.4))
        for ax, r in zip(np.atleast_1d(axes), runs):
            ax.axis("off")
            ax.set_title(title(r), fontsize=10)
            if step in r.grids:
                ax.imshow(np.asarray(Image.open(r.grids[step])), cmap="gray", vmin=0, vmax=255)
            else:
                ax.text(0.5, 0.5, "no grid\n(run ended)", ha="center", va="center")
        fig.tight_layout()
        frames.append(to_png(fig))
        plt.close(fig)
        labels.append(f"step {step}")
    return frames, labels


def grid_frames(runs: list[Run], seed: int):
    """Slider frames for one seed: at each checked step, the three losses' fixed-noise grids."""
    return side_by_side_frames([r for r in runs if r.seed == seed], lambda r: LOSS_LABEL[r.loss])


def shown(path) -> str:
    """``path`` relative to the repository when inside it (what a reader can find)."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def provenance(runs: list[Run]) -> str:
    commits = sorted({r.manifest.get("commit", "?")[:10] + (" (dirty)" if r.manifest.get("dirty") else "")
                      for r in runs})
    devices = sorted({r.manifest.get("device", "?") for r in runs})
    total = sum(r.manifest.get("wall_time_s", 0) for r in runs) / 60
    fcommits = sorted({(r.final or {}).get("commit", "?")[:10] for r in runs if r.final})
    res = runs[0].manifest.get("results", {})
    sizes = {(r.rows[0].get("config") or {}).get("name", "?") if r.rows else "?": 
             r.manifest.get("results", {}).get("parameters") for r in runs}
    if len(sizes) == 1:
        [(size, params)] = sizes.items()
        what = (f"the `{size}` Real NVP ({f'{params:,}' if isinstance(params, int) else '?'} "
                "parameters)")
    else:
        what = f"{len(sizes)} Real NVP sizes (" + ", ".join(
            f"`{s}`" for s, _ in sorted(sizes.items(), key=lambda kv: kv[1] or 0)) + ")"
    return (f"{len(runs)} runs of {what}, {res.get('steps', '?')} steps each, batch "
            f"{(runs[0].rows[0].get('train') or {}).get('batch_size', '?')}; training code at commit {', '.join(commits)}; final evaluation "
            f"at {', '.join(fcommits) or '—'}; device {', '.join(devices)}; "
            f"total training wall time {total:.0f} min." + "".join(
                f" {note}" for note in _source_notes(runs)))


def _source_notes(runs: list[Run]) -> list[str]:
    """Notes of ``source.json`` beside a study's runs: which commit's tree made runs whose
    manifests could not name it (e.g. made on a lent GPU machine from a copied tree)."""
    notes = []
    for root in sorted({r.directory.parent for r in runs}):
        f = root / "source.json"
        if f.exists():
            notes.append(json.loads(f.read_text())["note"])
    return notes
