"""The repository documents its own contracts: the README links docs/CONVENTIONS.md (not a file
outside the repository), which covers every contract the parts share."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_readme_links_the_conventions_inside_the_repository():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/CONVENTIONS.md)" in readme
    assert "shared/CONVENTIONS" not in readme
    conventions = (REPO_ROOT / "docs" / "CONVENTIONS.md").read_text(encoding="utf-8")
    for section in ("## Labels", "## The model's tensors", "## Preprocessing",
                    "## Raw tensors and input lists", "## Outputs", "## Artifacts",
                    "## Command line"):
        assert section in conventions
    assert "Exit codes: 0 success; 1 failure" in conventions


def test_readme_pipeline_makes_the_images_it_uses():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## The pipeline in ten commands")
    pipeline = readme[start:readme.index("\n## ", start + 1)]
    assert "render_png_folder" in pipeline and "raw-inputs faces " in pipeline
    assert "./faces" not in pipeline
    block = pipeline[pipeline.index("```bash"):pipeline.index("```", pipeline.index("```bash") + 3)]
    commands = [line for line in block.splitlines()[1:] if line and not line.startswith("source")]
    assert len(commands) == 10, commands


def test_readme_reads_in_five_minutes_and_says_where_the_data_comes_from():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    for needed in ("emotion,pixels,Usage", "fer2013.csv", "Kaggle", "--data synthetic",
                   "pip install -e '.[qnn]'", "Qualcomm's licence", "make demo", "make test"):
        assert needed in readme, needed
    for notebook in ("this 2-core", "this machine", "before this change", "Before this change",
                     "[--device", "this VM"):
        assert notebook not in readme, notebook


def readme_commands(text: str) -> list[list[str]]:
    """Every `edge-fer …` command of the page's bash blocks, as argument lists (comments and
    line continuations resolved; a `$(…)` substitution stands for one argument)."""
    import re
    import shlex

    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r'"\$\([^)]*\)"', "VALUE", line)
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words[:1] == ["edge-fer"]:
                    commands.append(words[1:])
    return commands


@pytest.mark.parametrize("page", ["README.md", "docs/predict.md", "docs/own-model.md",
                                  "docs/benchmarks.md"])
def test_every_documented_command_parses(page):
    """Each `edge-fer` line of the page names a command and options it has, with values its
    choices take (parsed by the command line itself, not run)."""
    from tests.edge_fer.test_help import parses

    commands = readme_commands((REPO_ROOT / page).read_text(encoding="utf-8"))
    assert commands
    for args in commands:
        parses(args, f"{page}: edge-fer {' '.join(args)}")



def test_readme_links_to_files_of_the_repository_resolve():
    import re

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if "://" not in t and not t.startswith("mailto:")]
    assert "docs/calibration.md" in local
    missing = [t for t in local if not (REPO_ROOT / t).exists()]
    assert not missing, missing


def python_blocks(page: Path) -> list[str]:
    import re

    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_api_page_s_examples_run_as_written(tmp_path, monkeypatch, capsys):
    """docs/api.md's examples, in order, in one namespace, in an empty folder; then what they
    printed is checked against what the page says they print."""
    blocks = python_blocks(REPO_ROOT / "docs" / "api.md")
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for block in blocks:
        exec(compile(block, "docs/api.md", "exec"), namespace)  # noqa: S102 - our own page
    printed = capsys.readouterr().out
    assert "RawInputs(input_list='raws/input_list.txt', written=14, labelled=14, skipped=0)" in printed
    assert "Classification(output_dir='runs/run/best', images=14, scored=14, accuracy=" in printed
    assert "['model/tflite/model.tflite']" in printed and "(2, 7)" in printed
    assert namespace["found"].frames == 1
    assert "np." not in printed
