"""The layout goals of the source tree, measured: how long the study code is, the longest
function, the largest study module, the guide's example, and which packages the report layer
and the framework import.

    python scripts/layout.py            # a table, then one JSON line

layerlab's goals: study code (every .py file below src/layerlab/studies/) at most 4,500 lines;
no function over 80 lines anywhere in src/; each study module at most 400 lines; the guide's
example study (studies/quickstart.py) at most 120 lines; report/ and lab/ import no study code.
Exits 1 when a goal other than the total is missed (the total is reported, met or not).
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "layerlab"
GOALS = {"study_lines": 4500, "function_lines": 80, "study_module_lines": 400,
         "example_lines": 120}


def lines(path: Path) -> int:
    """Lines of a file, as `wc -l` counts them."""
    return path.read_text().count("\n")


def functions(path: Path) -> list[tuple[str, int]]:
    """[(module:qualified name, lines)] of every function and method in a file."""
    found = []

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    found.append((f"{path.relative_to(SRC.parent)}:{name}",
                                  child.end_lineno - child.lineno + 1))
                walk(child, name + ".")

    walk(ast.parse(path.read_text()), "")
    return found


def study_imports(package: str) -> list[str]:
    """'file imports module' for every import of a study module inside a package (the list of
    study modules, `layerlab.studies.STUDY_MODULES`, is how the registry finds them: allowed)."""
    found = []
    for path in sorted((SRC / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(SRC.parent)} imports {n}" for n in names
                      if n.startswith("layerlab.studies.")]
    return found


def measure() -> dict:
    """Every figure of the layout goals, and the breaches."""
    studies = sorted((SRC / "studies").rglob("*.py"))
    per_module = {str(p.relative_to(SRC.parent)): lines(p) for p in studies}
    longest = max((f for p in sorted(SRC.rglob("*.py")) for f in functions(p)),
                  key=lambda f: f[1])
    biggest = max(per_module.items(), key=lambda kv: kv[1])
    figures = {"study_lines": sum(per_module.values()), "function_lines": longest[1],
               "study_module_lines": biggest[1],
               "example_lines": lines(SRC / "studies" / "quickstart.py")}
    where = {"function_lines": longest[0], "study_module_lines": biggest[0]}
    imports = study_imports("report") + study_imports("lab")
    return {"figures": figures, "where": where, "per_module": per_module,
            "study_imports": imports,
            "met": {k: figures[k] <= goal for k, goal in GOALS.items()}}


def main() -> int:
    result = measure()
    print(f"{'goal':<22} {'measured':>9} {'at most':>8}  where")
    for key, goal in GOALS.items():
        print(f"{key:<22} {result['figures'][key]:>9,} {goal:>8,}  "
              f"{result['where'].get(key, '')}{'' if result['met'][key] else '  (not met)'}")
    print(f"report/ and lab/ import study code: {len(result['study_imports'])} times")
    for line in result["study_imports"]:
        print("  " + line)
    print(json.dumps({k: result[k] for k in ("figures", "met")} | {
        "study_imports": len(result["study_imports"])}))
    structural = [k for k in GOALS if k != "study_lines" and not result["met"][k]]
    return 1 if structural or result["study_imports"] else 0


if __name__ == "__main__":
    sys.exit(main())
