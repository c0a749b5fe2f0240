"""The shipped positive control reproduces its final figures from its saved generator."""
import json

import pytest
import torch

from flowlib.core.paths import RESULTS
from flowlib.metrics.fid import fid
from flowlib.training import gan_control as C

SHIPPED = RESULTS / "gan-control-quick"


def test_shipped_control_is_a_working_gan_and_reproduces_its_figures():
    runs = sorted(p.parent for p in SHIPPED.glob("*/final.json"))
    assert runs, "the shipped positive control is missing (results/gan-control-quick)"
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


def test_the_control_covers_every_class_and_beats_the_selected_nll_flow():
    """The plan's bar for the control: recognisable digits of all 10 classes and a test
    LeNet-FID below the NLL-trained flow's (at the same n = 10 000), read from the shipped
    control and the fair fight's shipped NLL runs."""
    nll = [json.loads(p.read_text())["lenet"] for p in
           sorted((RESULTS / "nll-vs-gan-quick").glob("nll-seed*/final.json"))]
    assert len(nll) == 3, "the fair fight's NLL final runs are missing (results/nll-vs-gan-quick)"
    for run in sorted(p.parent for p in SHIPPED.glob("*/final.json")):
        control = json.loads((run / C.FINAL).read_text())["lenet"]
        assert control["classes_covered"] == 10
        assert all(control["n"] == x["n"] for x in nll)
        assert control["fid"] < min(x["fid"] for x in nll), (control["fid"], [x["fid"] for x in nll])
