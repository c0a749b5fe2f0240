"""Test bits/dim (all 10 000 test digits) of the size sweep's snapshots, as the benchmark measures them."""
import json, sys
from pathlib import Path
sys.path.insert(0, "/work/main")
from flowlib.data import load_mnist
from flowlib.realnvp import RealNVP, bits_per_dim
from flowlib import train as T
test = load_mnist("test").images
N_TRAIN = len(load_mnist("train").images)
out = {}
for size in sys.argv[1:]:
    run = Path("/work/sweep") / size
    curve = {}
    for m in (2, 5, 10):
        curve[str(m)] = bits_per_dim(RealNVP.load(run / f"snapshot-{m:g}min.pt"), test)
    final = RealNVP.load(run / T.MODEL)
    curve["15"] = bits_per_dim(final, test)
    rows = T.read_metrics(run)
    ips = sorted(r["img_per_s"] for r in rows if "img_per_s" in r)
    steps = max(r.get("step", 0) for r in rows)
    out[size] = {"parameters": final.num_parameters(), "test_bpd": curve,
                 "train_img_per_s_median": ips[len(ips) // 2], "steps": steps,
                 "epochs": steps * 64 / N_TRAIN}
    print(size, json.dumps(out[size]), flush=True)
json.dump(out, open(f"/work/sweep/summary-{'-'.join(sys.argv[1:])}.json", "w"), indent=1)
