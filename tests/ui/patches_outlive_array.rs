// Patches borrow their array: they cannot outlive it.
use ndarray::Array2;
use ndarray_patches::prelude::*;

fn main() {
    let p = {
        let img = Array2::<f32>::zeros((4, 4));
        img.patches(2)
    };
    println!("{}", p.patch_len());
}
