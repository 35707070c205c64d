"""Hostile arguments to every public function (issue 20, item 5): run as a
child process by test_hypothesis.py, under a 4 GiB address-space limit, so an
allocation that aborts shows as a dead child instead of a dead pytest.

Each example takes a valid call and replaces one of its arguments with a
hostile value (None, bools, huge and negative ints, floats, NaN, strings,
numpy scalars, tuples, nested lists, arrays of odd dtypes and shapes). The
package may raise only TypeError, ValueError (PatchError), IndexError,
OverflowError or MemoryError. Exit 0 if Hypothesis found nothing; else the
smallest failing call and its traceback, exit 1.

Run alone: ``NDP_HYPOTHESIS=long python hostile_args.py`` (the long run).
"""

import os
import sys
import traceback
import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ndarray_patches as nd

ALLOWED = (TypeError, ValueError, IndexError, OverflowError, MemoryError)

settings.register_profile(
    "ci", max_examples=1500, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
settings.register_profile(
    "long", max_examples=int(os.environ.get("NDP_EXAMPLES", "100000")), deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("NDP_HYPOTHESIS", "ci"))

EDGE_INTS = [0, 1, -1, 2, 7, 2**31 - 1, 2**31, 2**32, 2**62, 2**63 - 1, 2**63, 2**64, -(2**63), 10**30]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(EDGE_INTS),
    st.integers(-(2**70), 2**70),
    st.integers(-3, 12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["valid", "shift", "same", "cover", "mean", "sum", "max", "hann", "reflect",
                     "float32", "f8", "int64", "object", "complex64"]),
    st.sampled_from([np.int64(-1), np.uint64(2**64 - 1), np.float32(np.nan), np.bool_(True),
                     np.int8(3), np.float64(2.5), np.uint8(0), np.complex64(1j)]),
    st.sampled_from([np.float32, np.float64, np.int32, np.uint8, np.bool_, np.complex128,
                     np.float16, object, str, np.dtype("V4"), "U3"]),
    st.just(1j),
    st.just(object()),
    st.just(b"xy"),
)


@st.composite
def arrays(draw):
    ndim = draw(st.integers(0, 4))
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=ndim, max_size=ndim)))
    dt = draw(st.sampled_from([np.float32, np.float64, np.uint8, np.int64, np.bool_, np.complex64,
                               np.float16, object, "U2"]))
    a = np.zeros(shape, dtype=dt)
    how = draw(st.integers(0, 3))
    if how == 1 and ndim:
        a = np.broadcast_to(np.zeros((1,) + shape[1:], dt), (2**20,) + shape[1:])
    elif how == 2 and ndim:
        a = a[::-1]
    return a


hostile = st.one_of(
    scalars,
    st.lists(st.one_of(st.integers(-3, 9), st.sampled_from(EDGE_INTS)), max_size=5).map(tuple),
    st.lists(st.lists(st.integers(-2, 5), max_size=3), max_size=3),
    st.lists(scalars, max_size=3),
    arrays(),
)

def _max_dims():
    try:
        np.zeros((1,) * 33)
        return 64
    except ValueError:
        return 32


MAX_DIMS = _max_dims()

IMG = np.arange(100, dtype=np.float32).reshape(10, 10)


def P(**kw):
    args = dict(img=IMG, patch=3)
    args.update(kw)
    return nd.Patches(args.pop("img"), args.pop("patch"), **args)


def drain(it, n=3):
    out = []
    for x in it:
        out.append(x)
        if len(out) >= n:
            break
    return out


# Each entry: (name, {argument: valid value}, call(args)). One argument is
# replaced by a hostile value.
CALLS = [
    ("Patches", dict(img=IMG, patch=3, step=1, dilation=1, edge="valid", copy=True),
     lambda a: nd.Patches(a["img"], a["patch"], step=a["step"], dilation=a["dilation"],
                          edge=a["edge"], copy=a["copy"]).to_matrix()),
    ("to_matrix", dict(dtype=None, start=0, stop=None),
     lambda a: P().to_matrix(a["dtype"], a["start"], a["stop"])),
    ("get", dict(r=0), lambda a: P().get(a["r"])),
    ("getitem", dict(r=-1), lambda a: P()[a["r"]]),
    ("position", dict(r=3), lambda a: P().position(a["r"])),
    ("row_of", dict(origin=(1, 2)), lambda a: P().row_of(a["origin"])),
    ("positions", dict(start=0, stop=None), lambda a: P().positions(a["start"], a["stop"])),
    ("matrix_bytes", dict(dtype=None), lambda a: P().matrix_bytes(a["dtype"])),
    ("write_rows", dict(start=0, out=np.zeros((4, 9), np.float32)),
     lambda a: P().write_rows(a["start"], a["out"])),
    ("chunks", dict(rows=5, dtype=np.float32, start=0, stop=None),
     lambda a: drain(P().chunks(rows=a["rows"], dtype=a["dtype"], start=a["start"], stop=a["stop"]))),
    ("shuffled", dict(rows=5, seed=0, dtype=np.float32, start=0, stop=None),
     lambda a: drain(P().shuffled(rows=a["rows"], seed=a["seed"], dtype=a["dtype"],
                                  start=a["start"], stop=a["stop"]))),
    ("sample", dict(n=4, seed=0, replace=False, weights=None, mask=None),
     lambda a: P().sample(a["n"], seed=a["seed"], replace=a["replace"], weights=a["weights"],
                          mask=a["mask"])),
    ("dot", dict(w=np.ones(9), dtype=None), lambda a: P().dot(a["w"], dtype=a["dtype"])),
    ("matmul", dict(W=np.ones((9, 2)), dtype=None), lambda a: P().matmul(a["W"], dtype=a["dtype"])),
    ("t_dot", dict(v=np.ones(64), dtype=None), lambda a: P().t_dot(a["v"], dtype=a["dtype"])),
    ("gram", dict(dtype=np.float64), lambda a: P().gram(a["dtype"])),
    ("mean", dict(dtype=np.float64), lambda a: P().mean(a["dtype"])),
    ("covariance", dict(dtype=np.float64), lambda a: P().covariance(a["dtype"])),
    ("padded", dict(img=IMG, patch=3, step=1, dilation=1, edge="same", mode="constant", cval=0),
     lambda a: nd.padded(a["img"], a["patch"], step=a["step"], dilation=a["dilation"],
                         edge=a["edge"], mode=a["mode"], cval=a["cval"]).to_matrix()),
    ("Fold", dict(shape=(10, 10), patch=3, step=1, dilation=1, edge="valid"),
     lambda a: nd.Fold(a["shape"], a["patch"], step=a["step"], dilation=a["dilation"],
                       edge=a["edge"]).finish()),
    ("Fold.add_rows", dict(start=0, rows=np.ones((5, 9))),
     lambda a: nd.Fold((10, 10), 3).add_rows(a["start"], a["rows"])),
    ("Fold.finish", dict(reduction="mean", dtype=np.float64),
     lambda a: nd.Fold((10, 10), 3).finish(a["reduction"], dtype=a["dtype"])),
    ("Fold reduction", dict(reduction="max", weights=None, sigma=None),
     lambda a: nd.Fold((10, 10), 3, reduction=a["reduction"], weights=a["weights"],
                       sigma=a["sigma"]).finish()),
    ("Fold weights", dict(reduction="mean", weights="gaussian", sigma=1.0),
     lambda a: nd.Fold((10, 10), 3, reduction=a["reduction"], weights=a["weights"],
                       sigma=a["sigma"]).finish()),
    ("Fold.place", dict(values=np.ones(64), anchor="centre"),
     lambda a: nd.Fold((10, 10), 3).place(a["values"], a["anchor"])),
    ("reconstruct", dict(patches=np.ones((64, 9)), image_shape=(10, 10)),
     lambda a: nd.reconstruct(a["patches"], a["image_shape"])),
    ("set_num_threads", dict(n=None), lambda a: nd.set_num_threads(a["n"])),
]


CALLED = [0]  # calls made by test_hostile (examples, replays and shrinks)


@given(st.sampled_from(CALLS), st.data())
def test_hostile(call, data):
    name, valid, f = call
    arg = data.draw(st.sampled_from(sorted(valid)), label="argument")
    value = data.draw(hostile, label="value")
    args = dict(valid, **{arg: value})
    # The last line names the call if the process aborts.
    print(f"{name}({arg}={short(value)})", file=sys.stderr, flush=True)
    CALLED[0] += 1
    try:
        f(args)
    except ALLOWED:
        pass
    except BaseException as e:  # PanicException derives from BaseException
        raise AssertionError(
            f"{name}({arg}={value!r}) raised {type(e).__module__}.{type(e).__name__}: {e}"
        ) from e
    finally:
        if name == "set_num_threads":
            nd.set_num_threads()


# The deterministic sweep: every argument of every call, each of these.
SWEEP = (
    [None, True, False, 1.5, float("nan"), float("inf"), -1.0, "", "x", ",", "valid", "mean", 1j,
     b"xy", object(), (), (0,), (3, 3), (1, 2, 3), (-1, 3), (2**63, 1), [[1, 2], [3]], [None],
     np.float32, np.complex128, np.float16, object, "U3", np.int64(-1), np.uint64(2**64 - 1),
     np.float32(np.nan), np.bool_(True), np.zeros(0), np.zeros((0, 9)), np.ones((3, 3), np.complex64),
     np.ones((2, 2), object),
     np.array(["a", "b"]), np.broadcast_to(np.float32(0), (2**20, 2**20)), (1,) * 33, (2**31,) * 3]
    + EDGE_INTS
    # More axes than numpy 1.x can make (numpy 2 allows 64).
    + ([np.zeros((1,) * 33, np.float32), np.zeros((1,) * 64, np.uint8)] if MAX_DIMS > 32 else [])
)


def sweep(log=sys.stderr):
    """Every call with every argument replaced by every SWEEP value:
    ``{"name(arg=value)": "Type: message"}`` for each disallowed exception."""
    bad = {}
    for name, valid, f in CALLS:
        for arg in sorted(valid):
            for value in SWEEP:
                key = f"{name}({arg}={short(value)})"
                print(key, file=log, flush=True)  # the last line names an abort
                try:
                    f(dict(valid, **{arg: value}))
                except ALLOWED:
                    pass
                except BaseException as e:
                    bad[key] = f"{type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"
                finally:
                    if name == "set_num_threads":
                        nd.set_num_threads()
    return bad


def short(v):
    if isinstance(v, np.ndarray):
        return f"array(shape={v.shape if v.ndim < 5 else f'({v.ndim} axes)'}, dtype={v.dtype})"
    r = repr(v)
    return r if len(r) < 40 else r[:37] + "..."


def main():
    import json

    # numpy's casting warnings would bury the log of calls.
    warnings.simplefilter("ignore")

    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what in ("sweep", "all"):
        with open(os.devnull, "w") as devnull:
            bad = sweep(log=sys.stderr if os.environ.get("NDP_SWEEP_LOG") else devnull)
        print(json.dumps(bad, indent=1, sort_keys=True))
    if what in ("random", "all"):
        try:
            test_hostile()
        except Exception:
            traceback.print_exc()
            return 1
        print(f"hostile arguments (random): nothing found in {CALLED[0]} calls", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
