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
