"""The studies: each module registers its experiments with `layerlab.lab.registry.experiment`.

`STUDY_MODULES` lists them; `registry.all_experiments()` imports each (those that need PyTorch
are left out, with a note, when it is not installed). A new study adds its module here.
"""

STUDY_MODULES = [
    "layerlab.studies.quickstart",
    "layerlab.studies.s1_fc",
    "layerlab.studies.s1_norm",
    "layerlab.studies.s1_dropout",
    "layerlab.studies.s2_conv",
    "layerlab.studies.s3_cifar",
    "layerlab.studies.s4_lenet",
    "layerlab.studies.s5_vanishing",
    "layerlab.studies.s6_gurmukhi",
    "layerlab.studies.s7_playground",
    "layerlab.studies.theory_questions",
    "layerlab.studies.s8_mnist",
    "layerlab.studies.s8_dropout_sweep",
]
