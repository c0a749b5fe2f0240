"""The Nash-equilibrium experiment's analysis: what its chapter computes and draws.

Runs (``results/nash-<preset>/<method>-<data>-seed<s>/``, see
:func:`flowlib.experiments.nash_jobs`) start at the teacher's weights and log, every k
steps, the exact KL to the teacher on held-out teacher samples (``kl``, ``kl_se`` in nats
per image), LeNet-FID against teacher samples, and validation bits/dim (MNIST units).
"""
from __future__ import annotations

from .exp1 import Run, fmt, load_study, log_axis, plot_band, side_by_side_frames, value_at

METHODS = ("nsgan", "nsgan-pretrained-d", "nll")
METHOD_LABEL = {"nsgan": "NSGAN, fresh D", "nsgan-pretrained-d": "NSGAN, D trained first",
                "nll": "NLL"}
METHOD_COLOR = {"nsgan": "C3", "nsgan-pretrained-d": "C1", "nll": "C0"}
DATA_LABEL = {"finite": "finite synthetic set", "stream": "fresh teacher samples"}
DATA_STYLE = {"finite": "-", "stream": "--"}


def load(root) -> list[Run]:
    runs = load_study(root)
    order = {m: i for i, m in enumerate(METHODS)}
    return sorted(runs, key=lambda r: (r.spec.get("data", ""), order.get(r.spec.get("method"), 9),
                                       r.seed))


def groups(runs: list[Run]) -> dict[tuple[str, str], list[Run]]:
    out: dict = {}
    for r in runs:
        out.setdefault((r.spec.get("method"), r.spec.get("data")), []).append(r)
    return out


def check_steps(runs: list[Run]) -> list[int]:
    return sorted(set().union(*[set(r.series("kl")[0].tolist()) for r in runs]))


def table(runs: list[Run]) -> str:
    """Markdown: exact KL (nats/image) after each checked step, mean ± sd over seeds."""
    steps = check_steps(runs)
    shown = [s for s in steps if s > 0]
    head = ("| method | data | seeds | " + " | ".join(f"KL @ {s}" for s in shown)
            + " | final LeNet-FID vs teacher | runs with instability (first step) |\n|"
            + "---|" * (len(shown) + 5) + "\n")
    body = ""
    for (method, data), rs in groups(runs).items():
        cells = [fmt([value_at(r, "kl", s) for r in rs], 2) for s in shown]
        # a run flags at every check while it stays unstable: count runs, not flags
        firsts = [min(e["step"] for e in flagged) for r in rs
                  if (flagged := [e for e in r.events if e.get("event") == "instability"])]
        events = f"{len(firsts)}/{len(rs)}" + (f" ({', '.join(map(str, sorted(firsts)))})" if firsts else "")
        body += (f"| {METHOD_LABEL.get(method, method)} | {DATA_LABEL.get(data, data)} | {len(rs)} | "
                 + " | ".join(cells)
                 + f" | {fmt([value_at(r, 'fid') for r in rs], 1)} | {events} |\n")
    return head + body


def instability_summary(runs: list[Run]) -> str:
    """One line per run that raised instability flags: each kind with the step it first
    appeared and how many checks flagged it (a run flags at every check while unstable)."""
    lines = []
    for r in runs:
        kinds: dict = {}
        for e in r.events:
            if e.get("event") == "instability":
                first, n = kinds.get(e["kind"], (e["step"], 0))
                kinds[e["kind"]] = (min(first, e["step"]), n + 1)
        if kinds:
            lines.append(f"* `{r.name}`: " + ", ".join(
                f"{k} from step {f} ({n} check{'s' * (n != 1)})" for k, (f, n) in kinds.items()))
    return ("Instability flags: none." if not lines else
            f"Instability flags in {len(lines)} of {len(runs)} runs:\n\n" + "\n".join(lines))


def curves_figure(runs: list[Run]):
    import matplotlib.pyplot as plt

    keys = (("kl", "exact KL(teacher ‖ student), nats/image"),
            ("fid", "LeNet-FID vs teacher samples"),
            ("val_bpd", "validation bits/dim (MNIST units)"))
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for ax, (key, title) in zip(axes, keys):
        for (method, data), rs in groups(runs).items():
            plot_band(ax, rs, key, color=METHOD_COLOR.get(method, "k"), ls=DATA_STYLE.get(data, "-"),
                      label=f"{METHOD_LABEL.get(method, method)}, {DATA_LABEL.get(data, data)}",
                      alpha=0.12)
        if key == "kl":
            ax.set_yscale("symlog", linthresh=1.0)
        else:  # FID and bits/dim span orders of magnitude once NSGAN leaves the teacher
            log_axis(ax)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def grid_frames(runs: list[Run], seed: int, data: str):
    """Slider frames for one seed and data regime: the three methods' fixed-noise grids."""
    mine = [r for r in runs if r.seed == seed and r.spec.get("data") == data]
    return side_by_side_frames(mine, lambda r: METHOD_LABEL.get(r.spec.get("method"), r.name))


def findings(runs: list[Run]) -> dict[str, dict]:
    """F2 at the Nash equilibrium: does NSGAN leave it while NLL stays?

    Compared per (seed, data) at the last check: *supported* if every NSGAN run (either
    discriminator) ends with a larger exact KL than the NLL run of the same seed and data,
    *not supported* if none does, *mixed* otherwise.
    """
    by = {(r.spec.get("method"), r.spec.get("data"), r.seed): r for r in runs}
    pairs = []
    for (method, data, seed), r in by.items():
        if method in ("nsgan", "nsgan-pretrained-d") and ("nll", data, seed) in by:
            a, b = value_at(r, "kl"), value_at(by["nll", data, seed], "kl")
            if a is not None and b is not None:
                pairs.append((a, b))
    wins = sum(a > b for a, b in pairs)
    status = ("no data" if not pairs else "supported" if wins == len(pairs)
              else "not supported" if wins == 0 else "mixed")
    ns = [a for a, _ in pairs]
    nl = [b for _, b in pairs]
    return {"F2 (at the Nash equilibrium)": {
        "status": status,
        "numbers": (f"final exact KL larger for NSGAN than for NLL in {wins}/{len(pairs)} "
                    f"(seed, data) pairs; NSGAN {fmt(ns, 2)} vs NLL {fmt(nl, 2)} nats/image")}}
