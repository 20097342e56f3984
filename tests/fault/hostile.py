#!/usr/bin/python3
"""Hostile variants of a valid rtkbench results file, for tests/fault/test_hostile.sh.

  hostile.py list                      the case names, one a line
  hostile.py make CASE GOOD OUT        OUT = GOOD damaged as CASE says
  hostile.py json FILE                 exit 0 iff FILE holds one valid JSON document

Each case names the class of damage; the test decides what rtkbench must do.
"""
import json
import shutil
import sys

import h5py
import numpy as np


def first_run(f):
    return sorted(f["runs"].keys())[0]


def set_attr(obj, name, value, dtype=None):
    if name in obj.attrs:
        del obj.attrs[name]
    if dtype is None:
        obj.attrs[name] = value
    else:
        obj.attrs.create(name, value, dtype=dtype)


def replace_ds(g, name, data):
    del g[name]
    g[name] = data


def c_fv_array(f):
    set_attr(f, "format_version", np.array([1, 1, 1], dtype=np.int64))


def c_fv_2(f):
    set_attr(f, "format_version", np.int64(2))


def c_fv_string(f):
    set_attr(f, "format_version", np.bytes_(b"1"))


def c_fv_missing(f):
    del f.attrs["format_version"]


def c_format_array(f):
    set_attr(f, "format", np.array([b"rtkbench", b"rtkbench"]))


def c_format_vlen(f):
    set_attr(f, "format", "rtkbench", dtype=h5py.string_dtype())


def c_runs_array(f):
    set_attr(f, "runs", np.arange(64, dtype=np.int64))


def c_runs_huge(f):
    set_attr(f, "runs", np.int64(2**62))


def c_runs_float_nan(f):
    set_attr(f, "runs", np.float64("nan"))


def c_nfe_array(f):
    set_attr(f["runs"][first_run(f)], "nfe", np.arange(1000, dtype=np.float64))


def c_status_array(f):
    set_attr(f["runs"][first_run(f)], "status", np.array([b"complete"] * 50))


def c_status_long(f):
    set_attr(f["runs"][first_run(f)], "status", np.bytes_(b"complete" + b"x" * 60000))


def c_status_vlen(f):
    set_attr(f["runs"][first_run(f)], "status", "complete", dtype=h5py.string_dtype())


def c_status_int(f):
    set_attr(f["runs"][first_run(f)], "status", np.int64(7))


def c_config_array(f):
    replace_ds(f, "config", np.array([b"[run]", b"x = 1"]))


def c_run_config_array(f):
    replace_ds(f["runs"][first_run(f)], "config", np.array([b"[run]"] * 10))


def c_run_config_float(f):
    replace_ds(f["runs"][first_run(f)], "config", np.zeros((3, 3)))


def c_samples_truncated(f):
    g = f["runs"][first_run(f)]
    replace_ds(g, "samples", g["samples"][: g["samples"].shape[0] // 2])


def c_samples_flipped(f):
    g = f["runs"][first_run(f)]
    x = g["samples"][()]
    x[0, 0] = np.nextafter(x[0, 0], np.inf)
    g["samples"][...] = x


def c_metrics_missing(f):
    del f["runs"][first_run(f)]["metrics"]


def c_accuracy_array(f):
    replace_ds(f["runs"][first_run(f)]["metrics"], "marginal_accuracy", np.ones((100, 100)))


def c_accuracy_string(f):
    replace_ds(f["runs"][first_run(f)]["metrics"], "marginal_accuracy", np.bytes_(b"0.5"))


def c_checksum_missing(f):
    del f["runs"][first_run(f)].attrs["checksum"]


def c_checksum_wrong(f):
    set_attr(f["runs"][first_run(f)], "checksum", np.bytes_(b"rtk1-" + b"0" * 32))


def c_checksum_array(f):
    set_attr(f["runs"][first_run(f)], "checksum", np.array([b"rtk1-0"] * 4))


def c_run_is_dataset(f):
    rid = first_run(f)
    del f["runs"][rid]
    f["runs"][rid] = np.zeros(4)


def c_runs_is_dataset(f):
    del f["runs"]
    f["runs"] = np.zeros(3)


def c_metrics_is_dataset(f):
    g = f["runs"][first_run(f)]
    del g["metrics"]
    g["metrics"] = np.zeros(2)


def c_extra_run(f):
    f["runs"].create_group("9999-ddpm")


def c_name_escape(f):
    # a run group whose name and attributes need escaping in JSON
    g = f["runs"].create_group('0001-"x\\y\x01')
    set_attr(g, "status", np.bytes_(b'running"\\'))
    set_attr(g, "sampler", np.bytes_(b"a\tb\x7f\xff"))
    set_attr(g, "nfe", np.float64("inf"))


def c_inf_metrics(f):
    replace_ds(f["runs"][first_run(f)]["metrics"], "marginal_accuracy", np.float64("nan"))
    set_attr(f["runs"][first_run(f)], "particles", np.float64("-inf"))


def c_samples_3d(f):
    g = f["runs"][first_run(f)]
    replace_ds(g, "samples", np.zeros((2, 2, 2, 2)))


def c_samples_int8(f):
    g = f["runs"][first_run(f)]
    replace_ds(g, "samples", np.zeros((5, 3), dtype=np.int8))


def c_study_digest(f):
    set_attr(f, "study_digest", np.bytes_(b"rtk1-" + b"f" * 32))


CASES = {k[2:]: v for k, v in globals().items() if k.startswith("c_")}


def main():
    if sys.argv[1] == "list":
        print("\n".join(CASES))
    elif sys.argv[1] == "make":
        case, good, out = sys.argv[2:5]
        shutil.copyfile(good, out)
        with h5py.File(out, "r+") as f:
            CASES[case](f)
    elif sys.argv[1] == "json":
        with open(sys.argv[2]) as fh:
            json.load(fh)  # raises on invalid JSON (nan, inf, bad escapes)
    else:
        sys.exit("unknown command")


if __name__ == "__main__":
    main()
