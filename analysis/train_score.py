#!/usr/bin/python3
"""Train a time-conditioned score network on exact samples of an rtkbench
target (denoising score matching) and write it in rtkbench's MLP weights
layout (docs/format.md, "MLP weights file"), for `[score] model = mlp`.

    /usr/bin/python3 analysis/train_score.py --config experiments/quickstart.ini -o net.h5
    /usr/bin/python3 analysis/train_score.py --target results.h5 -o net.h5 --width 128 --depth 3

The target (weights, means, variances of a diagonal Gaussian mixture p_0) is
read from a results file's /target group, or a file holding those three
datasets at its root or under /target; with --config, rtkbench itself resolves
the study's target (one tiny `exact` run into a temporary file).

Training: x_0 ~ p_0 exactly, t log-uniform in [delta, T], x_t = alpha_t x_0 +
sigma_t z, and the network N(x_t, t) with s = N / rho_t,
rho_t = sqrt(sigma_t^2 + sigma_floor^2), sigma_floor = sigma_delta, minimises
E |(sigma_t / rho_t) N + z|^2 (the DSM loss weighted by sigma_t^2).  Fresh
samples every step.  Deterministic for a seed on CPU: torch.manual_seed,
torch.use_deterministic_algorithms(True) and one intra-op thread (the same
seed gives the same file, bit for bit, on the same torch build).

Network: input [x, sin(f_i tau), cos(f_i tau)] with tau = log rho_t and
frequencies f_i log-spaced in [0.5, 16]; `depth` hidden layers of `width`
units with SiLU; a linear output of size d.  Trained in float32 (--dtype) and
stored as float64.  --fixture adds inputs and the float64 PyTorch forward
pass on the stored weights (/fixture), which the C test compares with."""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np


def die(msg):
    print(f"train_score.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--target", help="results file (its /target) or target file (weights, means, variances)")
    src.add_argument("--config", help="study INI: rtkbench resolves its target")
    p.add_argument("--rtkbench", default=None, help="rtkbench binary for --config (default: build/rtkbench)")
    p.add_argument("-o", "--output", required=True, help="weights file to write (HDF5)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--depth", type=int, default=3, help="hidden layers")
    p.add_argument("--n-freq", type=int, default=8, help="sinusoidal time-embedding frequencies")
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (cosine decay to 0)")
    p.add_argument("--delta", type=float, default=1e-3, help="smallest training time")
    p.add_argument("--T", type=float, default=5.0, help="largest training time")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="training precision")
    p.add_argument("--fixture", type=int, default=0, metavar="N",
                   help="also store N test inputs and the float64 PyTorch forward pass (/fixture)")
    a = p.parse_args(argv)
    for name in ["width", "depth", "steps", "batch"]:
        if getattr(a, name) < 1:
            die(f"--{name} must be >= 1 (got {getattr(a, name)})")
    if a.n_freq < 0 or a.fixture < 0:
        die("--n-freq and --fixture must be >= 0")
    if not (a.lr > 0 and math.isfinite(a.lr)):
        die(f"--lr must be > 0 (got {a.lr})")
    if not (0 < a.delta < a.T) or not math.isfinite(a.T):
        die(f"need 0 < --delta < --T (got delta={a.delta}, T={a.T})")
    if os.path.exists(a.output) and not a.force:
        die(f"output file '{a.output}' exists (use --force to overwrite it)")
    return a


def read_target(path):
    import h5py
    if not os.path.exists(path):
        die(f"target file '{path}' does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        die(f"cannot read '{path}' as HDF5: {e}")
    with f:
        g = f["target"] if "target" in f else f
        missing = [k for k in ("weights", "means", "variances") if k not in g]
        if missing:
            die(f"'{path}' has no mixture: dataset(s) {', '.join(missing)} missing (at / or /target)")
        w, mu, var = (np.asarray(g[k][()], dtype=np.float64) for k in ("weights", "means", "variances"))
    if mu.ndim != 2 or var.shape != mu.shape or w.shape != (mu.shape[0],):
        die(f"'{path}': inconsistent mixture shapes weights {w.shape}, means {mu.shape}, variances {var.shape}")
    if not (np.all(w >= 0) and abs(w.sum() - 1) < 1e-9 and np.all(var > 0)):
        die(f"'{path}': weights must be >= 0 summing to 1 and variances > 0")
    return w, mu, var


def target_from_config(ini, binary):
    exe = binary or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "rtkbench")
    if not os.path.exists(exe):
        die(f"rtkbench binary '{exe}' not found (build it, or pass --rtkbench)")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "target.h5")
        cmd = [exe, "run", ini, "-o", out, "--set", "run.samplers=exact", "--set", "run.particles=16",
               "--set", "run.progress=0", "--set", "sweep.score.model=exact"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            die(f"rtkbench could not resolve the target of '{ini}':\n{r.stderr.strip()}")
        return read_target(out)


def build_net(torch, d, width, depth, n_freq, dtype):
    layers, cin = [], d + 2 * n_freq
    for _ in range(depth):
        layers += [torch.nn.Linear(cin, width, dtype=dtype), torch.nn.SiLU()]
        cin = width
    layers.append(torch.nn.Linear(cin, d, dtype=dtype))
    return torch.nn.Sequential(*layers)


def forward(torch, net, freqs, floor, x, t):
    """s(x, t) = N([x, sin(f tau), cos(f tau)]) / rho_t, tau = log rho_t; x [n][d], t [n]"""
    sigma2 = -torch.expm1(-2 * t)
    rho = torch.sqrt(sigma2 + floor * floor)
    tau = torch.log(rho)[:, None] * freqs[None, :]
    h = torch.cat([x, torch.sin(tau), torch.cos(tau)], dim=1)
    return net(h) / rho[:, None]


def main(argv):
    a = parse_args(argv)
    import h5py
    import torch
    w, mu, var = read_target(a.target) if a.target else target_from_config(a.config, a.rtkbench)
    K, d = mu.shape
    torch.manual_seed(a.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    dt = torch.float32 if a.dtype == "float32" else torch.float64
    gen = torch.Generator().manual_seed(a.seed)
    net = build_net(torch, d, a.width, a.depth, a.n_freq, dt)
    freqs = torch.exp(torch.linspace(math.log(0.5), math.log(16.0), a.n_freq, dtype=torch.float64))
    floor = math.sqrt(-math.expm1(-2 * a.delta))
    W, MU, SD = torch.tensor(w), torch.tensor(mu), torch.tensor(np.sqrt(var))
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.steps)
    lo, hi = math.log(a.delta), math.log(a.T)
    losses = np.zeros(a.steps)
    fr = freqs.to(dt)
    for step in range(a.steps):
        k = torch.multinomial(W, a.batch, replacement=True, generator=gen)
        x0 = MU[k] + SD[k] * torch.randn(a.batch, d, generator=gen, dtype=torch.float64)
        t = torch.exp(lo + (hi - lo) * torch.rand(a.batch, generator=gen, dtype=torch.float64))
        z = torch.randn(a.batch, d, generator=gen, dtype=torch.float64)
        alpha, sigma = torch.exp(-t), torch.sqrt(-torch.expm1(-2 * t))
        xt = alpha[:, None] * x0 + sigma[:, None] * z
        s = forward(torch, net, fr, floor, xt.to(dt), t.to(dt))
        loss = ((sigma[:, None].to(dt) * s + z.to(dt)) ** 2).sum(1).mean()  # = |(sigma/rho) N + z|^2
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses[step] = loss.item()
        if (step + 1) % max(1, a.steps // 10) == 0:
            print(f"step {step + 1}/{a.steps}: loss {losses[max(0, step - 99):step + 1].mean():.4f}", flush=True)

    lin = [m for m in net if isinstance(m, torch.nn.Linear)]
    config = {k: v for k, v in vars(a).items() if k not in ("force",)}
    config.update({"K": K, "dim": d, "sigma_floor": floor, "torch_version": torch.__version__,
                   "loss": "E |(sigma_t/rho_t) N(x_t, t) + z|^2, t log-uniform in [delta, T]"})
    tmp = a.output + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs.create("format", np.bytes_("rtkbench-mlp"))
        f.attrs["format_version"] = np.int64(1)
        for name, v in [("dim", d), ("width", a.width), ("depth", a.depth), ("n_freq", a.n_freq)]:
            f.attrs[name] = np.int64(v)
        f.attrs["sigma_floor"] = np.float64(floor)
        f.attrs["activation"] = np.bytes_("silu")
        f["time_freqs"] = freqs.numpy()
        for i, m in enumerate(lin):
            f[f"layers/{i}/weight"] = m.weight.detach().to(torch.float64).numpy()
            f[f"layers/{i}/bias"] = m.bias.detach().to(torch.float64).numpy()
        tg = f.create_group("target")
        tg["weights"], tg["means"], tg["variances"] = w, mu, var
        tr = f.create_group("training")
        tr["config"] = json.dumps(config, sort_keys=True)
        tr["loss"] = losses
        tr.attrs["seed"] = np.int64(a.seed)
        tr.attrs["steps"] = np.int64(a.steps)
        if a.fixture:
            net64 = build_net(torch, d, a.width, a.depth, a.n_freq, torch.float64)
            with torch.no_grad():
                for m64, m in zip([m for m in net64 if isinstance(m, torch.nn.Linear)], lin):
                    m64.weight.copy_(m.weight.to(torch.float64))
                    m64.bias.copy_(m.bias.to(torch.float64))
                g2 = torch.Generator().manual_seed(a.seed + 1)
                k = torch.multinomial(W, a.fixture, replacement=True, generator=g2)
                tf = torch.exp(lo + (hi - lo) * torch.rand(a.fixture, generator=g2, dtype=torch.float64))
                tf[0] = 0.0  # the RTK samplers evaluate at t = delta = 0
                tf[-1] = a.T
                al, sg = torch.exp(-tf), torch.sqrt(-torch.expm1(-2 * tf))
                xf = al[:, None] * (MU[k] + SD[k] * torch.randn(a.fixture, d, generator=g2, dtype=torch.float64)) \
                    + sg[:, None] * torch.randn(a.fixture, d, generator=g2, dtype=torch.float64)
                out = forward(torch, net64, freqs, floor, xf, tf)
            fx = f.create_group("fixture")
            fx["x"], fx["t"], fx["score"] = xf.numpy(), tf.numpy(), out.numpy()
    os.replace(tmp, a.output)
    nparams = sum(m.weight.numel() + m.bias.numel() for m in lin)
    print(f"wrote {a.output}: d={d}, width={a.width}, depth={a.depth}, {nparams} parameters, "
          f"final loss {losses[-min(100, a.steps):].mean():.4f} (seed {a.seed})")


if __name__ == "__main__":
    main(sys.argv[1:])
