# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Overparameterised models
#
# More parameters than the truth needs: the students of Experiment 2 that are *larger* than
# the synthetic-MNIST teacher. The thesis (**F6**) finds them slow, often unstable, heavily
# overfitting and giving poorer images. This chapter reads the same runs as {doc}`Experiment 2 <misspecification>`
# and looks at the larger students against the teacher-size one, on four counts:
#
# * **speed**: training images per second, and seconds per 10 000 images (an epoch of the
#   largest quick training set). Compare students with each other only: where the runs were
#   made (the provenance note below says) decides the absolute numbers — the shipped `quick`
#   runs shared one GPU seven at a time;
# * **stability**: instability events and divergences, and the largest gradient norm seen;
# * **overfitting**: the gap between validation and training bits/dim, each above the
#   teacher's own bits/dim on the same images (chapter {doc}`Experiment 2 <misspecification>`);
# * **images**: LeNet-FID against teacher samples, and samples side by side.

# %%
# %matplotlib inline

# %% tags=["parameters"]
preset = "quick"
rerun = False
seeds = [0]

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display
from PIL import Image

from flowlib.book.plots import panel_grid
from flowlib.studies.registry import locate
from flowlib.studies.results import fmt, provenance, teacher_notes

from flowlib.studies import misspecification as exp2

root, note = locate("misspecification", preset, rerun=rerun, seeds=tuple(seeds))
runs = exp2.load(root)
rows = exp2.run_rows(runs)
display(Markdown(" ".join(teacher_notes(runs)) + "\n\n" + provenance(runs, note)))

# %% [markdown]
# ## Speed, stability, overfitting, images

# %%
lines = ["| student | vs teacher | parameters | train size | img/s | s per 10k images | events + divergences "
         "| max grad norm | gap (bits/dim) | LeNet-FID |", "|" + "---|" * 10]
for (st, n), xs in exp2.grouped(rows).items():
    ips = [x["img_per_s"] for x in xs if x["img_per_s"]]
    lines.append(
        f"| {st} | {xs[0]['relation']} | {xs[0]['parameters']:,} | {n:,} | {fmt(ips, 0)} | "
        f"{fmt([1e4 / v for v in ips], 0)} | {sum(x['events'] + x['diverged'] for x in xs)} | "
        f"{fmt([x['max_grad_norm'] for x in xs], 1)} | {fmt([x['gap'] for x in xs], 3)} | "
        f"{fmt([x['fid'] for x in xs], 1)} |")
display(Markdown("\n".join(lines)))

# %%
fig, axes = plt.subplots(3, 1, figsize=(7.2, 8.4))  # stacked, to stay legible
for i, n in enumerate(sorted({x["train_size"] for x in rows})):
    g = sorted(exp2.grouped([x for x in rows if x["train_size"] == n]).items(),
               key=lambda kv: kv[1][0]["parameters"])
    p = [v[0]["parameters"] for _, v in g]
    for ax, key in zip(axes, ("img_per_s", "gap", "fid")):
        ax.plot(p, [np.nanmean([np.nan if x[key] is None else x[key] for x in v]) for _, v in g],
                "o-", color=f"C{i}", label=f"n = {n:,}")
for ax, t in zip(axes, ("training images / s", "overfitting gap (bits/dim)", "LeNet-FID vs teacher")):
    ax.set(xscale="log", xlabel="student parameters", title=t)
    ax.axvline(exp2.RealNVP(exp2.SIZES[exp2.TEACHER_SIZE]).num_parameters(), color="k", ls=":")
    ax.legend(fontsize=9)
axes[0].set_yscale("log")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Samples at the end of training
#
# The last fixed-noise grid of each student (first seed, smallest training set): the same
# latent vectors for every student.

# %%
n_min = min(x["train_size"] for x in rows)
last = [r for r in runs if exp2.train_size(r) == n_min and r.seed == min(x.seed for x in runs) and r.grids]
fig, axes = panel_grid(len(last), ncols=3, height=2.9)  # rows of three: digits stay visible
for ax, r in zip(axes, last):
    ax.imshow(np.asarray(Image.open(r.grids[max(r.grids)])), cmap="gray")
    ax.set_title(f"{exp2.student(r)} ({exp2.relation(exp2.student(r))})", fontsize=10)
    ax.axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## F6, as these numbers have it
#
# The rule: for each larger student and training size, compare with the teacher-size
# student at the same size on the four counts above; *supported* when all four hold in every
# comparison, *not supported* when none holds in any, *mixed* otherwise (the numbers say
# which).

# %%
v = exp2.findings(runs)
display(Markdown(f"| finding | status | numbers |\n|---|---|---|\n| F6 | **{v['F6']['status']}** | "
                 f"{v['F6']['numbers']} |\n"))
