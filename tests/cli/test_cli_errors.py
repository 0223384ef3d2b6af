"""Expected errors of the command line: one line naming the problem and the fix, an exit
status that is not 0, and no traceback."""

from cli_helpers import layerlab, one_line_error


def test_out_that_holds_a_run_is_refused(quick_run):
    folder = quick_run[0]
    line = one_line_error(layerlab("run", "quickstart", "--quick", "--out", folder))
    assert "already holds a run" in line and f"--resume {folder}" in line


def test_out_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "some_file").write_text("x")
    line = one_line_error(layerlab("run", "quickstart", "--quick", "--out",
                                   tmp_path / "some_file"))
    assert "a file is in the way" in line


def test_report_of_a_folder_that_is_no_run(tmp_path):
    line = one_line_error(layerlab("report", tmp_path))
    assert f"{tmp_path} is not a run folder" in line and "layerlab run NAME" in line


def test_report_of_a_missing_folder(tmp_path):
    line = one_line_error(layerlab("report", tmp_path / "nonexistent"))
    assert "no such folder" in line


def test_compare_of_folders_that_are_no_runs(tmp_path):
    line = one_line_error(layerlab("compare", tmp_path, "x"))
    assert "is not a run folder" in line


def test_sweep_without_a_name():
    line = one_line_error(layerlab("sweep"))
    assert "name an experiment" in line


def test_a_misspelt_experiment_gets_the_close_names():
    line = one_line_error(layerlab("run", "quickstrt", "--quick"))
    assert line == ("layerlab run: no experiment 'quickstrt'; did you mean quickstart? "
                    "(`layerlab list` shows them all)")
    line = one_line_error(layerlab("list", "lenet-fashon"))
    assert "did you mean lenet-fashion or lenet-fashion-best?" in line


def test_a_misspelt_setting_gets_the_close_names(tmp_path):
    done = layerlab("run", "quickstart", "--quick", "--set", "learning_rate=0.1", "--out",
                    tmp_path / "r")
    line = one_line_error(done)
    assert "no setting 'learning_rate'; did you mean learning_rates?" in line
    assert not (tmp_path / "r").exists()  # refused before a run folder is made
    line = one_line_error(layerlab("run", "quickstart", "--set", "zzz=1"))
    assert "its settings are: batch_size, dataset" in line  # nothing close: every name


def test_a_torch_experiment_without_torch_names_the_install():
    line = one_line_error(layerlab("run", "lenet-fashion", "--quick", torch=False))
    assert line == ("layerlab run: lenet-fashion needs torch, which is not installed: "
                    "pip install -e '.[torch]'")
    line = one_line_error(layerlab("list", "mnist-cnn", torch=False))
    assert "mnist-cnn needs torch" in line


def test_every_command_and_option_has_help():
    import argparse

    from layerlab.cli import build_parser

    missing = []

    def walk(parser, where):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {a.dest: a.help for a in action._choices_actions}
                for name, sub in action.choices.items():
                    if not helps.get(name):
                        missing.append(f"{where} {name}")
                    walk(sub, f"{where} {name}")
            elif action.help is None:
                missing.append(f"{where} {action.option_strings or action.dest}")

    walk(build_parser(), "layerlab")
    assert missing == []
