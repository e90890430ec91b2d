"""The repository documents its own contracts: the README links docs/CONVENTIONS.md (not a file
outside the repository), which covers every contract the parts share."""

from __future__ import annotations

from pathlib import Path

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
    pipeline = readme[readme.index("## The pipeline, step by step"):readme.index("- **Data sets**")]
    assert "render_png_folder" in pipeline and "raw-inputs faces " in pipeline
    assert "./faces" not in pipeline


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
