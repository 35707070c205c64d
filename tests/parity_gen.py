# Generates the expected arrays hard-coded in tests/parity.rs (run once by hand:
# pip install numpy scikit-image scikit-learn; python3 tests/parity_gen.py).
# torch is not installed here: the dilation case follows the definition of
# torch.nn.functional.unfold with numpy indexing.
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from skimage.util import view_as_windows
from sklearn.feature_extraction.image import extract_patches_2d
np.set_printoptions(linewidth=200)
def show(name, m):
    m = np.asarray(m)
    print(f"// {name}: shape {m.shape}")
    print("[" + ", ".join("[" + ", ".join(str(int(x)) for x in r) + "]" for r in m.reshape(m.shape[0], -1)) + "]")
a = np.arange(20).reshape(4, 5)
show("numpy sliding_window_view(arange(20).reshape(4,5), (2,3))", np.ascontiguousarray(sliding_window_view(a, (2, 3))).reshape(-1, 6))
b = np.arange(42).reshape(7, 6)
show("skimage view_as_windows(arange(42).reshape(7,6), (3,2), step=(2,3))", view_as_windows(b, (3, 2), step=(2, 3)).reshape(-1, 6))
c = np.arange(3*4*3).reshape(3, 4, 3)
show("sklearn extract_patches_2d(arange(36).reshape(3,4,3), (2,2))", extract_patches_2d(c, (2, 2)).reshape(-1, 12))
# dilation: torch.nn.functional.unfold(x[None,None], kernel_size=(2,2), dilation=(2,3)).T (computed with numpy indexing, torch's definition)
d = np.arange(30).reshape(5, 6)
k, dil = (2, 2), (2, 3)
rows = []
for i in range(5 - dil[0]*(k[0]-1)):
    for j in range(6 - dil[1]*(k[1]-1)):
        rows.append([d[i + a_*dil[0], j + b_*dil[1]] for a_ in range(k[0]) for b_ in range(k[1])])
show("torch unfold(arange(30).reshape(1,1,5,6), (2,2), dilation=(2,3)).T", rows)
e = np.arange(8)
show("numpy sliding_window_view(arange(8), 3)[::2]", sliding_window_view(e, 3)[::2])
f = np.arange(24).reshape(2,3,4)
show("numpy sliding_window_view(arange(24).reshape(2,3,4), (2,2,3))", np.ascontiguousarray(sliding_window_view(f, (2,2,3))).reshape(-1, 12))
# patches_along: numpy's sliding_window_view(x, shape, axis=axes) has x's
# axes (windowed ones shrunk to their positions) then the window axes; this
# crate's view is grid (batch axes, windowed axes) ++ patch (every axis from
# axes[0] on: window axes for windowed, numpy's own axis for whole ones).
def along(x, shape, axes, step=None):
    v = sliding_window_view(x, shape, axis=axes)
    if step is not None:
        v = v[tuple(slice(None, None, step[axes.index(k)]) if k in axes else slice(None) for k in range(x.ndim))]
    b = axes[0]
    grid = list(range(b)) + list(axes)
    patch = [x.ndim + axes.index(k) if k in axes else k for k in range(b, x.ndim)]
    return np.ascontiguousarray(np.transpose(v, grid + patch))
x = np.arange(2*4*5*3).reshape(2, 4, 5, 3)
show("along(arange(120).reshape(2,4,5,3), (2,3), axes=(1,2), step=(2,2)), (N,H,W,C)", along(x, (2, 3), (1, 2), (2, 2)).reshape(-1, 18))
y = np.arange(3*4*2).reshape(3, 4, 2)
show("along(arange(24).reshape(3,4,2), (2,2), axes=(0,1)), (H,W,C)", along(y, (2, 2), (0, 1)).reshape(-1, 8))
z = np.arange(1*2*3*4).reshape(1, 2, 3, 4)
show("along(arange(24).reshape(1,2,3,4), (2,2), axes=(2,3)), NCHW: C is a batch axis", along(z, (2, 2), (2, 3)).reshape(-1, 4))
show("along(arange(24).reshape(1,2,3,4), (1,2,2), axes=(0,2,3)), torch unfold's column order", along(z, (1, 2, 2), (0, 2, 3)).reshape(-1, 8))
w = np.arange(3*2*4).reshape(3, 2, 4)
show("along(arange(24).reshape(3,2,4), (2,3), axes=(0,2)): axis 1 whole, between windowed axes", along(w, (2, 3), (0, 2)).reshape(-1, 12))
# torch.nn.functional.unfold(z, (2,2)) computed with numpy indexing (torch's definition): (N, C*2*2, L) -> rows (L, C*2*2)
t = np.array([[z[0, c, i + a, j + bb] for c in range(2) for a in range(2) for bb in range(2)] for i in range(2) for j in range(3)])
show("torch unfold(arange(24).reshape(1,2,3,4), (2,2))[0].T", t)
