"""`layerlab grade`: check a student's own layers against layerlab's engine.

A student's file (or package) defines any subset of the course's names (`affine_forward`,
`batchnorm_backward`, `adam`, `FullyConnectedNet`, ...) or layerlab's classes. Each check runs
the student's code in a child process with a time limit, compares it with the engine over a
table of shapes and edge cases, gradient-checks it in float64, and names a known bug when the
student's numbers match a reference copy that has that bug.

Modules, one idea each:
    compare     error measures, the `Measure` row, where an error concentrates
    reference   the engine under the course's names (cs231n or layerlab conventions)
    styles      the student's names, read as the course's functions
    probes      generic forward / backward / gradient-check probes
    checks_*    the check table: cases (shapes, edge cases) per name
    table       every check, in the course's order
    bugs        reference copies with one known bug each: the diagnoses
    loader      importing the student's file or package
    child       the child process that runs the checks
    runner      the parent: one child per student module, time limits, restarts
    report      the table, --json and --gradescope outputs
    cli         `layerlab grade`
"""
