"""Output destinations, checked before the work that fills them.

Why: a report path that names a folder, or a subtitle folder whose name a file already holds,
should stop a command at once with one line, not after an hour of decoding, and never with a
traceback.
"""

from __future__ import annotations

from pathlib import Path

from asr.errors import AsrError, os_reason


def refuse_option_like(path: str | Path) -> None:
    """`--srt --json` gives --srt the value "--json": a name that starts with "-" is almost
    always a flag that lost its value, so it is refused. A full path still names such a file
    (not ./-name: pathlib, and so typer, drops the ./)."""
    if str(path).startswith("-"):
        raise AsrError(
            str(path),
            "looks like an option, not a name to write (to mean that name, give its full path)",
        )


def output_folder(path: str | Path) -> Path:
    """Create the folder `path` (and its parents) if need be; a file in its place is an error."""
    refuse_option_like(path)
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise AsrError(str(path), "is a file; expected a folder to write into")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise AsrError(str(path), f"cannot create the folder ({os_reason(err)})") from None
    return path


def output_file(path: str | Path) -> Path:
    """Make sure the file `path` can be written: its folder exists (created if need be) and no
    folder holds its name. The file itself is not created."""
    refuse_option_like(path)
    path = Path(path)
    if path.is_dir():
        raise AsrError(str(path), "is a folder; expected a file name to write")
    if path.parent.exists() and not path.parent.is_dir():
        raise AsrError(str(path), f"{path.parent} is a file, not a folder")
    output_folder(path.parent)
    return path
