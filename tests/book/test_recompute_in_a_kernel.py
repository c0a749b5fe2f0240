"""A Recompute panel driven through a real Jupyter kernel: in Jupyter the controls the static
page marks as "needs a running kernel" do recompute."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.book

CODE = """
from flowlib.book import flows_2d as C
from flowlib.data.toy2d import sample_toy
from flowlib.training.toy2d import Toy2DConfig, train_toy
steps = 20
data = {d: sample_toy(d, 500) for d in C.DATASETS}
runs = {("8 gaussians", "nsgan"): train_toy(Toy2DConfig(dataset="8 gaussians", loss="nsgan",
                                                        steps=steps, snapshots=2, seed=0))}
box = C.recompute_panel(runs, data, steps=steps, seed=0)
panel = box.children[-1]
controls, button = panel.children[0].children, panel.children[1]
controls[0].value, controls[1].value = "two moons", "nll"     # the reader's own settings
button.click()
print("STATUS", panel.children[2].value)
"""


def test_the_recompute_panel_recomputes_in_a_real_kernel():
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        kc.execute(CODE)
        images, status, errors = 0, "", []
        while True:
            msg = kc.get_iopub_msg(timeout=300)
            kind, content = msg["msg_type"], msg["content"]
            if kind == "display_data" and "image/png" in content.get("data", {}):
                images += 1
            elif kind == "stream" and "STATUS" in content["text"]:
                status = content["text"]
            elif kind == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                break
        assert not errors, errors
        assert "computed for" in status and "two moons" in status and "'nll'" in status, status
        assert images >= 1, "the panel displayed no recomputed figure"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
