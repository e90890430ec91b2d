"""A run's checkpoints, best/ and last/, each saved as one unit.

TensorFlow's Saver writes a checkpoint as several files (.data-*, .index, .meta and the
`checkpoint` state file), each renamed into place on its own: a kill between two of them pairs
one epoch's weights with another's index. Here each checkpoint is saved whole into a staging folder
beside best/ or last/, together with the record that belongs to it (last/state.json: the epoch,
best and history a --resume continues from; best/best.json: the best epoch's scores), and swapped
in by one exchange (atomic.swap_in): at every instant best/ and last/ are one epoch's, whole.
"""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

from edge_fer.atomic import no_space_error, recover, stage_beside, swap_in
from edge_fer.errors import EdgeFerError

CKPT_NAME = "model.ckpt"
BEST_RECORD = "best.json"


def save_checkpoint(saver, sess, folder: Path, records: dict[str, dict]) -> None:
    """The session's variables as `folder` (best/ or last/), with `records` ({file name: JSON})
    beside them, replacing the folder whole when all are written."""
    import tensorflow as tf

    stage = stage_beside(folder)
    try:
        try:
            saver.save(sess, str(stage / CKPT_NAME))
        except tf.errors.OpError as exc:
            if "no space left" in str(exc.message).lower():
                raise no_space_error(folder / CKPT_NAME) from None
            raise EdgeFerError(f"{folder}: cannot save the checkpoint "
                               f"({str(exc.message).splitlines()[0]})") from None
        for name, record in records.items():
            (stage / name).write_text(json.dumps(record, indent=2), encoding="utf-8")
        swap_in(stage, folder)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise no_space_error(folder / CKPT_NAME) from None
        raise
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


def recover_checkpoints(run: Path, names: tuple[str, ...] = ("best", "last")) -> None:
    """Complete or undo a checkpoint swap a killed training left, and remove its staging (call
    while holding the run folder's lock: no live command saves into it)."""
    for name in names:
        recover(run / name, only_dead=True)


def read_record(folder: Path, name: str) -> dict | None:
    path = folder / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def has_checkpoint(folder: Path) -> bool:
    """folder holds a checkpoint (its state file or an index)."""
    return (folder / "checkpoint").is_file() or any(folder.glob("*.index"))
