"""The shipped positive controls reproduce their final figures from their saved generators; the
control meets the bar its issue set; the new control's job carries the recipe under test."""
import json

import pytest
import torch

from flowlib.core.paths import results_root
from flowlib.metrics.fid import fid
from flowlib.training import gan_control as C

SHIPPED = results_root("gan-control-quick")           # DCGAN's own recipe, 9 000 steps
RECIPE = results_root("gan-control-recipe-quick")     # Experiment 1's selected NSGAN recipe
BAR = 300.0        # LeNet-FID of 10 000 samples against MNIST test, stated before the control ran


def _controls(root):
    return sorted(p.parent for p in root.glob("*/final.json"))


def test_shipped_control_is_a_working_gan_and_reproduces_its_figures():
    runs = _controls(SHIPPED) + _controls(RECIPE)
    assert _controls(SHIPPED), "the shipped positive control is missing (results/gan-control-quick)"
    for run in runs:
        final = json.loads((run / C.FINAL).read_text())
        gen = C.load_generator(run / C.MODEL)
        g = torch.Generator().manual_seed(final["sample_seed"])
        r = fid(lambda b: gen.sample(b, generator=g), reference="mnist-test", n=final["lenet"]["n"],
                pr_n=final["lenet"]["n"])
        assert r.fid == pytest.approx(final["lenet"]["fid"], rel=1e-4)
        assert r.classes_covered == final["lenet"]["classes_covered"]
        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["results"]["outcome"] == "done" and manifest["commit"]


def test_the_positive_control_meets_its_bar():
    """The bar of the control's issue, restored (a test changed after the NLL runs had asked
    only for a FID below the NLL flow's): all 10 classes and a test LeNet-FID below
    :data:`BAR` on 10 000 samples, read from the control the study stands on, the one trained
    with the selected recipe (shipped 2026-12-07: 274.0; the DCGAN-recipe control scored 310.1
    and stays beside it as its own row)."""
    runs = _controls(RECIPE)
    assert runs, "the recipe control is missing (results/gan-control-recipe-quick)"
    for run in runs:
        control = json.loads((run / C.FINAL).read_text())["lenet"]
        assert control["n"] == 10_000 and control["classes_covered"] == 10
        assert control["fid"] < BAR, (run.name, control["fid"])


def test_the_recipe_controls_job_carries_the_selected_nsgan_recipe():
    """The job of ``gan-control-recipe`` passes every flag of the search's selected NSGAN
    configuration, the flow runs' schedule, EMA, beta2 and clip, and the final runs' generator
    steps, and the control's command line turns them into that configuration."""
    from flowlib.cli import build_parser
    from flowlib.studies import nll_vs_gan as exp1
    from flowlib.studies.registry import get
    from flowlib.training.config import PRESETS
    selected = exp1.selection("quick", "nsgan")
    (job,) = get("gan-control-recipe").jobs("quick", [0])
    argv = list(job.argv)
    for k, v in selected.items():
        if k != "loss":
            assert argv[argv.index(f"--{k}") + 1] == str(v), k
    assert argv[argv.index("--steps") + 1] == str(exp1.FINAL_STEPS["quick"]) == "6000"
    args = build_parser().parse_args(argv + ["--out", "unused"])
    cfg = C.config_from_args(args)
    flow = PRESETS["quick"]
    assert (cfg.lr, cfg.d_lr, cfg.beta1, cfg.d_steps, cfg.r1) == (
        selected["lr"], selected["d-lr"], selected["gan-beta1"], selected["d-steps"], selected.get("r1", 0.0))
    assert cfg.spectral_norm == selected.get("spectral-norm", False)
    assert (cfg.ema, cfg.warmup_steps, cfg.final_lr_frac, cfg.grad_clip, cfg.beta2) == (
        flow.ema, flow.warmup_steps, flow.final_lr_frac, flow.grad_clip, flow.gan_beta2)
    assert cfg.steps == 6000 and cfg.final_images == 10_000
    # the shipped selection, spelled out: what the new control will train with
    assert (cfg.lr, cfg.d_lr, cfg.beta1, cfg.r1, cfg.ema) == (0.000272, 0.00109, 0.0, 10.0, 0.999)
    # and the control's own default is still DCGAN's recipe, the shipped control's
    plain = C.config_from_args(build_parser().parse_args(["gan-control", "--out", "unused"]))
    assert plain == C.PRESETS["quick"]
