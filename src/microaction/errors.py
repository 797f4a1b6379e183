"""Exception types. Every error a user can cause is a MicroactionError naming the input."""


class MicroactionError(Exception):
    """Base class: the CLI prints these as one line and exits non-zero."""


class VideoError(MicroactionError):
    """A video file could not be read (missing, corrupt, truncated, empty, not a video)."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ListFileError(MicroactionError):
    """A list file (or label-name file) is malformed; names the file and line."""

    def __init__(self, path, line: int | None, reason: str):
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class ConfigError(MicroactionError):
    """A config file or override is invalid; names the key."""


class CheckpointError(MicroactionError):
    """A checkpoint cannot be used (missing, wrong format, incompatible with the model)."""
