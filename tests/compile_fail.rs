//! Soundness promises checked at compile time (as rayon does): each file in
//! tests/ui must fail to compile, with the error recorded beside it.
//! Regenerate the expected errors with `TRYBUILD=overwrite cargo test --test
//! compile_fail` after a compiler upgrade changes their wording.

#[test]
#[cfg_attr(miri, ignore = "runs rustc")]
fn soundness_promises() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
