"""User-facing errors: one line, an exit code, never a traceback."""


class SidecarError(Exception):
    """Base class: the CLI prints `message` on one line and exits with `exit_code`."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = " ".join(message.split())  # keep it on one line


class SpecError(SidecarError):
    """The answers (file, flags or wizard) break an input rule."""


class CatalogError(SidecarError):
    """The catalog or a template definition is malformed."""


class FetchError(SidecarError):
    """A catalog source could not be fetched."""


class RenderError(SidecarError):
    """A template failed to render."""


class WriteError(SidecarError):
    """The output folder could not be written safely."""


class HookError(SidecarError):
    """A trusted catalog hook failed after the files were written."""


class CheckError(SidecarError):
    """Generated output failed a validator, or a validator is missing."""


class Aborted(SidecarError):
    """The user pressed Ctrl-C or Ctrl-D."""

    exit_code = 130
