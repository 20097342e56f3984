#!/usr/bin/python3
"""Fit a diagonal Gaussian mixture to real images and write it as an rtkbench
target file (target.kind = mog-file).

  make_target.py --data fashion-mnist|digits --pca D --components K --seed S
                 [--var-floor F] [--max-iter N] [--train-size M] -o FILE.h5

Pixels are scaled to [-1, 1], projected on their first D principal components
(D = the pixel count means pixel space: no PCA), and a K-component diagonal
GaussianMixture is fitted to the coordinates.  The file holds the mixture
(/weights, /means, /variances) and the affine map back to images (/decode).
Layout and attributes: analysis/README.md, section "make_target.py".

The same command gives the same bytes on the same machine and software stack:
BLAS and OpenMP run on one thread (set here, before numpy is imported), every
HDF5 object is written without timestamps, and attributes are written in a
fixed order.  Exit status: 0 done, 2 bad arguments, 1 any other failure.
"""
import os

# one thread for BLAS and OpenMP (k-means, EM): results that do not depend on
# the core count.  Must be set before numpy/scikit-learn are imported.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import gzip  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402

PROG = "make_target.py"
FASHION_DIR = "/usr/share/datasets/fashion-mnist"  # Debian package dataset-fashion-mnist
DATASETS = {  # name -> (image shape, pixel maximum)
    "fashion-mnist": ((28, 28), 255.0),
    "digits": ((8, 8), 16.0),
}
DEFAULT_VAR_FLOOR = 1e-3
DEFAULT_MAX_ITER = 200


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's default prints the usage too)
        sys.stderr.write(f"{PROG}: error: {message} (see --help)\n")
        sys.exit(2)


def parse_args(argv):
    p = Parser(prog=PROG, description="Fit a diagonal Gaussian mixture to Fashion-MNIST or digits (in PCA "
               "coordinates) and write an rtkbench target file (target.kind = mog-file).")
    p.add_argument("--data", required=True, choices=sorted(DATASETS), help="training images")
    p.add_argument("--pca", required=True, type=int, metavar="D",
                   help="dimension d of the target: the first D principal components "
                   "(D = pixel count, 784 or 64, means pixel space without PCA)")
    p.add_argument("--components", required=True, type=int, metavar="K", help="mixture components K")
    p.add_argument("--seed", required=True, type=int, metavar="S",
                   help="seed of the k-means initialisation and of the --train-size subsample (0 .. 2^32-1)")
    p.add_argument("--var-floor", type=float, default=DEFAULT_VAR_FLOOR, metavar="F",
                   help=f"variance floor: the GaussianMixture reg_covar (added to every variance in each "
                   f"M step) and a lower bound on the stored variances (default {DEFAULT_VAR_FLOOR:g})")
    p.add_argument("--max-iter", type=int, default=DEFAULT_MAX_ITER, metavar="N",
                   help=f"EM iterations at most (default {DEFAULT_MAX_ITER}; tol 1e-3 as in scikit-learn)")
    p.add_argument("--train-size", type=int, default=None, metavar="M",
                   help="fit on M training images drawn without replacement with the seed "
                   "(default: all, 60000 for fashion-mnist, 1797 for digits)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.h5", help="target file to write (replaced)")
    return p.parse_args(argv)


def validate(a, n_pixels, n_avail):
    """Raise UsageError naming the argument; fills a.train_size."""
    if not (1 <= a.pca <= n_pixels):
        raise UsageError(f"--pca: {a.pca} is out of range: {a.data} has {n_pixels} pixels, so 1 <= D <= {n_pixels} "
                         f"(D = {n_pixels} is pixel space)")
    if a.components < 1:
        raise UsageError(f"--components: {a.components} must be >= 1")
    if not (0 <= a.seed <= 2**32 - 1):
        raise UsageError(f"--seed: {a.seed} must be in 0 .. 4294967295")
    if not (math.isfinite(a.var_floor) and a.var_floor > 0):
        raise UsageError(f"--var-floor: {a.var_floor!r} must be a finite number > 0")
    if a.max_iter < 1:
        raise UsageError(f"--max-iter: {a.max_iter} must be >= 1")
    if a.train_size is None:
        a.train_size = n_avail
    if not (1 <= a.train_size <= n_avail):
        raise UsageError(f"--train-size: {a.train_size} is out of range: {a.data} has {n_avail} training images")
    if a.components > a.train_size:
        raise UsageError(f"--components: {a.components} components need at least as many training images "
                         f"(--train-size is {a.train_size})")
    if a.pca < n_pixels and a.pca > a.train_size:
        raise UsageError(f"--pca: {a.pca} principal components need at least as many training images "
                         f"(--train-size is {a.train_size})")
    d = os.path.dirname(os.path.abspath(a.output))
    if not os.path.isdir(d):
        raise UsageError(f"-o: the directory of '{a.output}' does not exist")


def read_idx_images(path):
    """IDX file of unsigned bytes (magic 0x00000803): array [n][h][w] uint8."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 16 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] != 3:
        raise RuntimeError(f"{path}: not an IDX file of unsigned bytes with 3 dimensions")
    n, h, w = (int(v) for v in np.frombuffer(raw, dtype=">u4", count=3, offset=4))
    if len(raw) != 16 + n * h * w:
        raise RuntimeError(f"{path}: {len(raw)} bytes, expected 16 + {n}*{h}*{w}")
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, h, w)


def load_pixels(name):
    """Training images as float64 [n][pixels] scaled to [-1, 1], and the image shape."""
    if name == "fashion-mnist":
        base = os.path.join(FASHION_DIR, "train-images-idx3-ubyte")
        path = next((p for p in (base, base + ".gz") if os.path.exists(p)), None)
        if path is None:
            raise RuntimeError(f"fashion-mnist: {base}[.gz] not found; install Debian's dataset-fashion-mnist "
                               "(scripts/setup-debian.sh)")
        img = read_idx_images(path)
        if img.shape[1:] != DATASETS[name][0]:
            raise RuntimeError(f"{path}: images are {img.shape[1]}x{img.shape[2]}, expected 28x28")
        x = img.reshape(img.shape[0], -1).astype(np.float64)
    else:
        from sklearn.datasets import load_digits
        x = np.asarray(load_digits().data, dtype=np.float64)  # [1797][64], grey levels 0..16
    return x / DATASETS[name][1] * 2.0 - 1.0, DATASETS[name][0]


def write_str_attr(obj, name, value):
    """Fixed-length, NUL-terminated ASCII string (as rtkbench's own files: rtk_h5_attr_str)."""
    b = value.encode("ascii")
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(len(b) + 1)
    tid.set_strpad(h5py.h5t.STR_NULLTERM)
    obj.attrs.create(name, np.array(b, dtype=f"S{len(b) + 1}"), dtype=h5py.Datatype(tid))


def write_target(path, datasets, attrs):
    """Write to a temporary file beside PATH, then rename: no partial file on failure."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".make_target.", suffix=".h5", dir=d)
    os.close(fd)
    try:
        # no timestamps anywhere: the file creation property list is also the
        # root group's object creation list
        fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
        fcpl.set_obj_track_times(False)
        fid = h5py.h5f.create(tmp.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl)
        with h5py.File(fid) as f:
            gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
            gcpl.set_obj_track_times(False)
            for name, value in datasets:  # in this order
                parent = "/".join(name.split("/")[:-1])
                if parent and parent not in f:
                    h5py.h5g.create(f.id, parent.encode(), gcpl=gcpl)
                f.create_dataset(name, data=value, track_times=False)
            for name, value in attrs:  # in this order
                if isinstance(value, str):
                    write_str_attr(f, name, value)
                elif isinstance(value, (bool, int, np.integer)):
                    f.attrs.create(name, np.int64(value), dtype="<i8")
                else:
                    f.attrs.create(name, np.float64(value), dtype="<f8")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv):
    a = parse_args(argv)
    t0 = time.perf_counter()
    shape, _ = DATASETS[a.data]
    n_pixels = shape[0] * shape[1]
    n_avail = 60000 if a.data == "fashion-mnist" else 1797
    try:
        validate(a, n_pixels, n_avail)
    except UsageError as e:
        sys.stderr.write(f"{PROG}: error: {e}\n")
        return 2

    import sklearn
    from sklearn.decomposition import PCA
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    x, shape = load_pixels(a.data)
    if x.shape != (n_avail, n_pixels):
        raise RuntimeError(f"{a.data}: {x.shape[0]} images of {x.shape[1]} pixels, expected {n_avail} of {n_pixels}")
    if a.train_size < x.shape[0]:
        idx = np.sort(np.random.default_rng(a.seed).choice(x.shape[0], size=a.train_size, replace=False))
        x = x[idx]

    with threadpool_limits(limits=1):
        if a.pca < n_pixels:
            pca = PCA(n_components=a.pca, svd_solver="full").fit(x)
            basis = np.ascontiguousarray(pca.components_, dtype=np.float64)  # [d][D_pix], orthonormal rows
            mean = np.asarray(pca.mean_, dtype=np.float64)
            z = (x - mean) @ basis.T
            explained = math.fsum(pca.explained_variance_ratio_)
        else:  # pixel space: identity decode, no basis
            basis = None
            mean = np.zeros(n_pixels)
            z = x
            explained = 1.0
        gmm = GaussianMixture(n_components=a.components, covariance_type="diag", reg_covar=a.var_floor,
                              max_iter=a.max_iter, n_init=1, init_params="kmeans", random_state=a.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gmm.fit(z)
        w = np.asarray(gmm.weights_, dtype=np.float64)
        w = w / math.fsum(w)
        mu = np.ascontiguousarray(gmm.means_, dtype=np.float64)
        var = np.maximum(np.asarray(gmm.covariances_, dtype=np.float64), a.var_floor)
        # the training log-likelihood of the mixture as stored (floored, renormalised)
        gmm.weights_, gmm.covariances_ = w, var
        gmm.precisions_cholesky_ = 1.0 / np.sqrt(var)
        loglik = float(gmm.score(z))

    if abs(math.fsum(w) - 1.0) > 1e-12 or not np.all(w > 0):
        raise RuntimeError(f"weights: sum {math.fsum(w)!r}, min {w.min()!r} after normalisation")
    for nm, v in (("weights", w), ("means", mu), ("variances", var), ("decode/mean", mean)):
        if not np.all(np.isfinite(v)):
            raise RuntimeError(f"{nm}: the fit produced non-finite values")
    if not math.isfinite(loglik):
        raise RuntimeError("the training log-likelihood is not finite")
    if not gmm.converged_:
        sys.stderr.write(f"{PROG}: note: EM did not converge in --max-iter {a.max_iter} iterations "
                         "(tol 1e-3); the file is written anyway\n")

    K, d = mu.shape
    datasets = [("weights", w.astype("<f8")), ("means", mu.astype("<f8")), ("variances", var.astype("<f8")),
                ("decode/mean", mean.astype("<f8"))]
    if basis is not None:
        datasets.append(("decode/basis", basis.astype("<f8")))
    datasets += [("decode/image_shape", np.array(shape, dtype="<i8")),
                 ("decode/value_range", np.array([-1.0, 1.0], dtype="<f8"))]
    command = (f"make_target.py --data {a.data} --pca {a.pca} --components {a.components} --seed {a.seed} "
               f"--var-floor {a.var_floor!r} --max-iter {a.max_iter} --train-size {a.train_size}")
    attrs = [("format", "rtkbench-target"), ("format_version", 1), ("data", a.data), ("pca_dim", d),
             ("components", K), ("seed", a.seed), ("var_floor", a.var_floor), ("max_iter", a.max_iter),
             ("train_size", a.train_size), ("train_loglik", loglik), ("pca_explained_variance", explained),
             ("converged", int(bool(gmm.converged_))), ("n_iter", int(gmm.n_iter_)), ("command", command),
             ("sklearn_version", sklearn.__version__), ("numpy_version", np.__version__)]
    write_target(a.output, datasets, attrs)

    size = os.path.getsize(a.output)
    space = "pixel space (no PCA)" if basis is None else f"PCA {n_pixels} -> {d} ({explained:.4f} of the variance)"
    print(f"{a.output}: {a.data}, {a.train_size} training images of {shape[0]}x{shape[1]}, {space}; "
          f"diagonal mixture K = {K}, d = {d}, variance floor {a.var_floor:g}, EM "
          f"{'converged' if gmm.converged_ else 'NOT converged'} after {gmm.n_iter_} iterations; mean training "
          f"log-likelihood {loglik:.6f} nats per image in the d-dimensional coordinates; smallest weight "
          f"{w.min():.3g}; file {size} bytes; {time.perf_counter() - t0:.1f} s.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (RuntimeError, OSError, ValueError) as e:
        sys.stderr.write(f"{PROG}: error: {e}\n")
        sys.exit(1)
