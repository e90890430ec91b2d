"""One output convention for every command: runs/<command>/<name>, a new numbered folder when
`-o` is not given, so no two commands (nor two runs of one) share a folder by default."""

from __future__ import annotations

from typer.testing import CliRunner

from edge_fer.cli import app
from edge_fer.outputs import new_output_dir, output_dir


def test_new_output_dir_numbers_past_what_exists(tmp_path):
    assert new_output_dir("run", root=tmp_path) == tmp_path / "run" / "exp"
    (tmp_path / "run" / "exp").mkdir(parents=True)
    (tmp_path / "run" / "exp2").write_text("a file counts too")
    assert new_output_dir("run", root=tmp_path) == tmp_path / "run" / "exp3"
    assert new_output_dir("convert", "best", root=tmp_path) == tmp_path / "convert" / "best"
    assert output_dir(tmp_path / "mine", "run") == tmp_path / "mine"


def test_commands_without_out_write_new_folders_of_their_own(tiny_frozen_model, tmp_path,
                                                             monkeypatch):
    from edge_fer.data.synthetic import render_png_folder

    monkeypatch.chdir(tmp_path)
    render_png_folder(tmp_path / "faces", 1, seed=3)
    runner = CliRunner()
    for _ in range(2):
        done = runner.invoke(app, ["raw-inputs", "faces", "-q"])
        assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (tmp_path / "runs" / "raw-inputs").iterdir()) == ["exp", "exp2"]
    listing = "runs/raw-inputs/exp/input_list.txt"
    for _ in range(2):
        done = runner.invoke(app, ["run", str(tiny_frozen_model), "-i", listing, "-q"])
        assert done.exit_code == 0, done.output
    runs = tmp_path / "runs" / "run"
    assert sorted(p.name for p in runs.iterdir()) == ["exp", "exp2"]
    assert len(list((runs / "exp").glob("Result_*"))) == 7
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["raw-inputs", "run"]


def test_resume_needs_the_run_it_continues():
    done = CliRunner().invoke(app, ["train", "--resume"])
    assert done.exit_code == 2 and "--resume needs --out" in done.output
