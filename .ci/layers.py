"""Checks the layer order of src/ (README "Layout", src/lib.rs): a module
may import (`crate::name`) only from modules below it. Exits 1 on a
violation, naming it."""
import pathlib
import re
import sys

ORDER = "error stop par scalar method geometry view flatten rows patches along sample shuffle linalg pad fold blocks ext".split()
src = pathlib.Path(__file__).resolve().parent.parent / "src"
bad = []
for i, module in enumerate(ORDER):
    # A module is src/NAME.rs or a folder src/NAME/ (every file in it).
    files = [src / f"{module}.rs"] if (src / f"{module}.rs").exists() else sorted((src / module).glob("*.rs"))
    text = re.sub(r"(?m)^\s*//.*$", "", "\n".join(f.read_text() for f in files))
    for dep in sorted(set(re.findall(r"crate::(\w+)", text))):
        if dep in ORDER and ORDER.index(dep) > i:
            bad.append(f"src/{module}.rs imports crate::{dep}, which is above it")
missing = sorted(p.stem for p in src.glob("*.rs") if p.stem not in ORDER + ["lib"])
missing += sorted(p.name for p in src.iterdir() if p.is_dir() and p.name not in ORDER)
bad += [f"src/{m}.rs is not in the layer order of .ci/layers.py" for m in missing]
print("\n".join(bad) if bad else f"layers ok: {' -> '.join(ORDER)}")
sys.exit(1 if bad else 0)
