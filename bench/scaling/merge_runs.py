#!/usr/bin/python3
"""Merge the complete runs of several results files of one study into one file.

A study can be split into jobs that run at the same time (e.g. one per
sampler, `--set run.samplers=...`, each with its own results file): a run's
numbers do not depend on which other runs share its study.  This copies every
complete run of the PART files into a copy of BASE under the name and index it
has in the full study (matched by sampler and sweep point, from
`rtkbench validate` of the full study), so that `analysis/rtk_analyze.py` sees
one study.  A run that is already there is not copied but compared: its
samples and every metric except timings must be bitwise equal (else exit 1).
The parts must be that study cut by `--set run.samplers=...` or `sweep.*`
subsets and nothing else: a run is matched by its sampler and sweep point
only, so let at least one run of each part overlap the base or another part
(its comparison then checks the rest of the configuration).

  bench/scaling/merge_runs.py OUT.h5 BASE.h5 PART.h5 [PART.h5 ...] \\
      --validate "build/rtkbench validate experiments/dim_scaling.ini [--set ...]"
"""
import argparse
import shlex
import shutil
import subprocess
import sys

import h5py
import numpy as np

TIMING = {"wall_time", "seconds_per_segment", "nfe_per_second", "particles_per_second", "time_phases"}


def sval(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def study_index(cmd):
    """(sampler, sweep) -> index of the full study, from `rtkbench validate`'s table"""
    out = subprocess.run(shlex.split(cmd), check=True, capture_output=True, text=True).stdout
    idx, header = {}, False
    for line in out.splitlines():
        f = line.split()
        if f[:2] == ["run", "sampler"]:
            header = True
            continue
        if header and not f:  # the table ends at the first empty line
            break
        if header and len(f) >= 8 and f[0].isdigit():
            sweep = " ".join(f[2:-6]) or "-"  # the sweep column may hold spaces
            idx[(f[1], sweep)] = int(f[0])
    return idx


def differs(ga, gb):
    bad = [ds for ds in ("samples", "times") if (ds in ga) != (ds in gb) or
           (ds in ga and not np.array_equal(ga[ds][()], gb[ds][()]))]
    for k in ga["metrics"]:
        if k in TIMING:
            continue
        x, y = ga["metrics"][k][()], gb["metrics"].get(k)
        y = None if y is None else y[()]
        if y is None or not np.array_equal(x, y, equal_nan=np.asarray(x).dtype.kind == "f"):
            bad.append(k)
    return bad


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("base")
    ap.add_argument("parts", nargs="+")
    ap.add_argument("--validate", required=True, help="command printing the full study's run table")
    a = ap.parse_args(argv)
    idx = study_index(a.validate)
    shutil.copyfile(a.base, a.out)
    copied = compared = 0
    errors = []
    with h5py.File(a.out, "r+") as fo:
        runs = fo["runs"]
        have = {(sval(g.attrs["sampler"]), sval(g.attrs.get("sweep", "-"))): rid for rid, g in runs.items()
                if sval(g.attrs.get("status", "")) == "complete"}
        for p in a.parts:
            with h5py.File(p, "r") as fp:
                for rid, g in fp["runs"].items():
                    if sval(g.attrs.get("status", "")) != "complete":
                        continue
                    key = (sval(g.attrs["sampler"]), sval(g.attrs.get("sweep", "-")))
                    if key not in idx:
                        errors.append(f"{p}:{rid} {key} is not a run of the full study")
                        continue
                    if key in have:
                        bad = differs(g, runs[have[key]])
                        compared += 1
                        if bad:
                            errors.append(f"{p}:{rid} differs from {have[key]} in {', '.join(bad)}")
                        continue
                    name = f"{idx[key]:04d}-{key[0]}"
                    fp.copy(g, runs, name=name)
                    runs[name].attrs["index"] = idx[key]
                    have[key] = name
                    copied += 1
    print(f"{a.out}: {copied} runs copied, {compared} compared bitwise, {len(have)} of {len(idx)} runs of the study")
    for e in errors:
        print("error:", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
