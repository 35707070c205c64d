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
