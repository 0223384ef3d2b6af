"""Finding and importing the student's code: one Python file, or a package (a folder with
`__init__.py`) whose modules are all searched for the graded names.

`check_path` runs in the grading process and executes nothing: it only compiles the source,
so a syntax error is one clear line. `load` runs in the child process, where the student's
module-level code may loop or crash without harm to the grader.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path


class GradeInputError(Exception):
    """The student's path cannot be graded (missing, not Python, a syntax error, ...)."""


def _sources(path):
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


def check_path(path):
    """The resolved path of the student's file or package; GradeInputError says what is wrong."""
    path = Path(path)
    if not path.exists():
        raise GradeInputError(f"{path} does not exist; give the student's .py file or package "
                              "folder")
    if path.is_dir() and not (path / "__init__.py").exists():
        raise GradeInputError(f"{path} is a folder without __init__.py; give a .py file, or a "
                              "package folder")
    if path.is_file() and path.suffix != ".py":
        raise GradeInputError(f"{path} is not a .py file; give the student's Python file")
    for source in _sources(path):
        try:
            compile(source.read_bytes(), str(source), "exec")
        except SyntaxError as err:
            raise GradeInputError(f"{source} line {err.lineno}: {err.msg} (a syntax error); "
                                  "fix it and grade again") from None
        except ValueError as err:  # null bytes
            raise GradeInputError(f"{source}: {err}; is it a Python file?") from None
    return path.resolve()


def _import_file(path):
    sys.path.insert(0, str(path.parent))  # so that the file can import its neighbours
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return [module], []


def _import_package(path):
    sys.path.insert(0, str(path.parent))
    package = importlib.import_module(path.name)
    modules, skipped = [package], []
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{path.name}."):
        try:
            modules.append(importlib.import_module(info.name))
        except Exception as exc:  # one broken module (an unbuilt extension) spoils no other
            skipped.append(f"{info.name}: {type(exc).__name__}: {exc}".splitlines()[0])
    return modules, skipped


def load(path):
    """Import the student's code; returns (lookup, files, skipped).

    lookup(name) is the student's object of that name or None; in a package the module that
    defines a name wins over one that imports it. files: the student's source files. skipped:
    one line per package module that failed to import.
    """
    path = Path(path)
    modules, skipped = _import_package(path) if path.is_dir() else _import_file(path)

    def lookup(name):
        pairs = [(getattr(m, name), m) for m in modules if getattr(m, name, None) is not None]
        own = [obj for obj, m in pairs if getattr(obj, "__module__", None) == m.__name__]
        return (own or [obj for obj, _ in pairs] or [None])[0]

    files = {str(p.resolve()) for p in _sources(path)}
    return lookup, files, skipped
