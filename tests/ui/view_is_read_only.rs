// Windows overlap: the view of every window must not be writable.
use ndarray::Array2;
use ndarray_patches::prelude::*;

fn main() {
    let img = Array2::<f32>::zeros((4, 4));
    let mut v = img.patches(2).view();
    v[[0, 0, 0, 0]] = 1.0;
}
