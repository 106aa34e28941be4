"""The one error type the CLI turns into `asr: error: WHERE: reason`."""


class AsrError(Exception):
    """A user-facing failure tied to a file (or other place) and a one-line reason."""

    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: {reason}")
        self.where = str(where)
        self.reason = reason

    def __reduce__(self):
        # Picklable, so an error raised in a worker process (decoding ahead, batch workers)
        # reaches the CLI as the same one line instead of breaking the process pool.
        return type(self), (self.where, self.reason)


def os_reason(err: OSError) -> str:
    """An OSError's message without its errno and file names: 'permission denied'."""
    return (err.strerror or str(err)).lower()


def missing_package_reason(err: ModuleNotFoundError) -> str:
    """One line for a package this install lacks. The runtime-only install
    (requirements-runtime.txt: onnxruntime, no torch) meets this on any command that needs
    torch: training, export, or a model file rather than an export folder."""
    package = (err.name or "a package").partition(".")[0]
    return (
        f"{package}: not installed, and this command needs it; `pip install .` installs "
        "everything (an install from requirements-runtime.txt runs `asr export` folders, "
        "--model DIR, without training, export or --plot)"
    )
