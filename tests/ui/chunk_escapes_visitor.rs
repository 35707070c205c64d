// A chunk is the visitor's reused buffer: it cannot escape the callback.
use ndarray::{Array2, ArrayView2};
use ndarray_patches::prelude::*;

fn main() {
    let img = Array2::<f32>::zeros((8, 8));
    let p = img.patches(2);
    let mut kept: Option<ArrayView2<'_, f32>> = None;
    p.for_each_chunk(4, |_, chunk| kept = Some(chunk));
    println!("{:?}", kept);
}
