// Mutable blocks borrow the array mutably: two sets at once would alias.
use ndarray::Array2;
use ndarray_patches::prelude::*;

fn main() {
    let mut img = Array2::<f32>::zeros((4, 4));
    let first = img.blocks_mut(2);
    let second = img.blocks_mut(2);
    first.par_for_each(|_, mut b| b.fill(1.0));
    second.par_for_each(|_, mut b| b.fill(2.0));
}
