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
