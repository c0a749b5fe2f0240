"""Companion of the chapter *Is the Nash equilibrium a resting place?* (``book/nash.py``): its figures."""
from __future__ import annotations


from flowlib.book.plots import log_axis, panel_grid, plot_band, side_by_side_frames
from flowlib.studies.nash import DATA_LABEL, DATA_STYLE, METHOD_COLOR, METHOD_LABEL, groups
from flowlib.studies.results import Run


def curves_figure(runs: list[Run]):

    keys = (("kl", "exact KL(teacher ‖ student), nats/image"),
            ("fid", "LeNet-FID vs teacher samples"),
            ("val_bpd", "validation bits/dim (MNIST units)"))
    fig, axes = panel_grid(3)
    for ax, (key, title) in zip(axes, keys):
        for (method, data), rs in groups(runs).items():
            plot_band(ax, rs, key, color=METHOD_COLOR.get(method, "k"), ls=DATA_STYLE.get(data, "-"),
                      label=f"{METHOD_LABEL.get(method, method)}, {DATA_LABEL.get(data, data)}",
                      alpha=0.12)
        if key == "kl":
            ax.set_yscale("symlog", linthresh=1.0)
        else:  # FID and bits/dim span orders of magnitude once NSGAN leaves the teacher
            log_axis(ax)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
    # the legend gets the grid's empty fourth cell
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower right", fontsize=9,
               bbox_to_anchor=(0.98, 0.05))
    fig.tight_layout()
    return fig


def grid_frames(runs: list[Run], seed: int, data: str):
    """Slider frames for one seed and data regime: the three methods' fixed-noise grids."""
    mine = [r for r in runs if r.seed == seed and r.spec.get("data") == data]
    return side_by_side_frames(mine, lambda r: METHOD_LABEL.get(r.spec.get("method"), r.name))
