"""`edge-fer raw-inputs`: images or a FER2013 CSV split → SNPE raws, input list, manifest."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from edge_fer import reporter
from edge_fer.commands import reports_errors
from edge_fer.commands.options import (
    COLOR_OPTION,
    LAYOUTS,
    MEAN_OPTION,
    RAW_DTYPES,
    SIZE_CHECK,
    STD_OPTION,
    Color,
    choice,
    input_flags,
    plain,
)

RawDtype = choice("RawDtype", RAW_DTYPES)
Layout = choice("Layout", LAYOUTS)

EXAMPLE = """
Example:

  edge-fer raw-inputs ./imgs --out raws/

  edge-fer raw-inputs --csv fer2013.csv.gz --usage PublicTest --out raws/

  edge-fer raw-inputs ./imgs --model mini_xception.tflite --out raws/   (its size, colour, layout)

  edge-fer raw-inputs ./imgs --size 224 --color rgb --layout nchw --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225
"""


def register(app: typer.Typer) -> None:
    @app.command("raw-inputs", help="Preprocess images into model input .raw files, "
                 "input_list.txt and manifest.csv (SNPE format).\n" + EXAMPLE)
    @reports_errors
    def raw_inputs(
        folder: Path = typer.Argument(None, help="Folder of images, searched recursively; "
                                      "emotion-named folders give the labels."),
        out: Path = typer.Option(None, "--out", "-o", show_default=False, help="Folder for the "
                                 "raws and input_list.txt (default: new runs/raw-inputs/exp<N>)."),
        csv_file: Path = typer.Option(None, "--csv", help="FER2013 CSV (plain or .gz) instead "
                                      "of a folder."),
        usage: str = typer.Option("PublicTest", "--usage", help="CSV Usage split to write."),
        detect_faces: bool = typer.Option(False, "--detect-faces", help="Crop the largest "
                                          "face (OpenCV Haar cascade) before resizing; images "
                                          "with no face are used whole and counted."),
        dtype: RawDtype = typer.Option("float32", "--dtype", help="float32 (9,216 bytes per raw) "
                                  "or uint8 (2,304 bytes)."),
        workers: int = typer.Option(None, "--workers", min=1, help="Processes (default: all cores)."),
        model: Path = typer.Option(None, "--model", "-m", help="Make the raws this model "
                                   "takes (its size, layout, dtype; its manifest's colour, "
                                   "mean, std)."),
        size: str = typer.Option(None, "--size", callback=SIZE_CHECK, help="Input H or HxW, at "
                                 "most 4096 (default: the model's; 48)."),
        color: Color = COLOR_OPTION,
        layout: Layout = typer.Option(None, "--layout", show_default=False, help="Axis order "
                                      "(default: the model's; nhwc)."),
        mean: str = MEAN_OPTION,
        std: str = STD_OPTION,
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        from edge_fer.errors import UsageError
        from edge_fer.tensors.raw_inputs import raw_inputs_from_csv, raw_inputs_from_folder
        from edge_fer.tensors.spec import InputSpec

        dtype = plain(dtype)
        if (folder is None) == (csv_file is None):
            raise UsageError("give either an image FOLDER or --csv FILE")
        flags = {"size": size, "layout": plain(layout), **input_flags(color, mean, std)}
        output = None
        if model is not None:
            from edge_fer.runners.model_io import model_spec

            spec, output = model_spec(model, **flags)
        else:
            spec = InputSpec().with_overrides(**flags)
        made = {"spec": spec, "output": output, "model": model.resolve() if model else None}
        from edge_fer.commands.preflight import require_output_folder
        from edge_fer.outputs import output_dir

        require_output_folder(out)
        out = output_dir(out, "raw-inputs")
        if csv_file is not None:
            if detect_faces:
                raise UsageError("--detect-faces applies to image folders; FER2013 rows are "
                                 "already cropped faces")
            result = raw_inputs_from_csv(csv_file, out, usage=usage, dtype=dtype, **made)
        else:
            result = raw_inputs_from_folder(folder, out, detect_faces=detect_faces, dtype=dtype,
                                            workers=workers, **made)
        if as_json:
            typer.echo(json.dumps(result.to_dict(), indent=2))
            return
        for source, reason in result.skipped:
            reporter.warn(f"skipped {source}: {reason}")
        rate = result.written / result.seconds if result.seconds else 0.0
        typer.echo(f"wrote {result.written} raws ({result.dtype}, {result.bytes_per_raw:,} bytes "
                   f"each) to {result.out_dir}, skipped {len(result.skipped)}"
                   + (f" (listed in {result.skipped_csv})" if result.skipped else "")
                   + f"; {result.labelled} labelled; {rate:.0f} images/s"
                   + (f"; {result.ignored} non-image files ignored" if result.ignored else "")
                   + (f"; no face found in {len(result.no_face)} of {result.written} images "
                      f"(used whole)" if result.no_face is not None else ""))
        typer.echo(f"input list {result.input_list}, manifest {result.manifest}; input "
                   f"{result.spec.describe()} (in {result.out_dir / 'input_spec.json'})")
