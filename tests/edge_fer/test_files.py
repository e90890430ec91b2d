"""Walking an input folder: symbolic links to folders followed, loops ended and reported."""

from __future__ import annotations

from edge_fer.files import walk_files


def test_symlinked_class_folders_are_followed_and_a_loop_is_reported_once(tmp_path):
    elsewhere = tmp_path / "elsewhere" / "happy"
    elsewhere.mkdir(parents=True)
    (elsewhere / "1.png").write_bytes(b"x")
    root = tmp_path / "faces"
    (root / "sad").mkdir(parents=True)
    (root / "sad" / "2.png").write_bytes(b"x")
    (root / "happy").symlink_to(elsewhere, target_is_directory=True)
    (root / "sad" / "back").symlink_to(root, target_is_directory=True)  # a loop
    files, skipped = walk_files(root)
    assert [p.relative_to(root).as_posix() for p in files] == ["happy/1.png", "sad/2.png"]
    assert [(path, why.split(" (")[0]) for path, why in skipped] == [
        (str(root / "sad" / "back"), "a link to a folder already read")]
