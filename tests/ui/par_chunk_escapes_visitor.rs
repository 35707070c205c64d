// A worker's chunk buffer cannot escape the parallel visitor either.
use std::sync::Mutex;

use ndarray::{Array2, ArrayView2};
use ndarray_patches::prelude::*;

fn main() {
    let img = Array2::<f32>::zeros((8, 8));
    let p = img.patches(2);
    let kept: Mutex<Vec<ArrayView2<'_, f32>>> = Mutex::new(Vec::new());
    p.par_for_each_chunk(4, |_, chunk| kept.lock().unwrap().push(chunk));
    println!("{}", kept.into_inner().unwrap().len());
}
