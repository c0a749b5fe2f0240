"""Benchmark (prints measured numbers; not a test): training throughput of the quick (`small`)
Real NVP on this CPU, eager against torch.compile of `log_prob`, in one run.

    flock /tmp/flowlib-cpu.lock python benchmarks/compile_probe.py
"""
import time, torch, sys
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
from flowlib.models.realnvp import RealNVP, SIZES
from flowlib.data.mnist import load_mnist
torch.manual_seed(0)
x = load_mnist("train").images[:64]
def bench(model, label, steps=40, warm=5):
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    lp = model.log_prob
    for i in range(warm + steps):
        if i == warm: t0 = time.perf_counter()
        loss = -lp(x).mean(); opt.zero_grad(); loss.backward(); opt.step()
    ips = steps * 64 / (time.perf_counter() - t0)
    print(f"{label}: {ips:.0f} img/s", flush=True); return ips
m = RealNVP(SIZES["small"])
e = bench(m, "eager")
m2 = RealNVP(SIZES["small"])
t = time.perf_counter()
m2.log_prob = torch.compile(m2.log_prob)
try:
    m2.log_prob(x)  # compile
    print(f"compile took {time.perf_counter()-t:.0f} s", flush=True)
    c = bench(m2, "torch.compile")
    print(f"ratio {c/e:.2f}x")
except Exception as ex:
    print("compile failed:", type(ex).__name__, str(ex)[:300])
