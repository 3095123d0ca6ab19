"""Exceptions raised for problems a user can fix.

Every error the library raises on purpose derives from :class:`SdaeError`; the CLI turns
them into a one-line message and exit status 2 instead of a traceback.
"""


class SdaeError(Exception):
    """Base class of the errors a user can act on."""


class DataError(SdaeError, ValueError):
    """The data cannot be read or does not fit the model (bad file, NaN, wrong shape...)."""


class ConfigError(SdaeError, ValueError):
    """An option has a value that makes no sense (negative size, noise level above 1...)."""


class ModelFileError(SdaeError, ValueError):
    """A model file is missing, corrupt, or of a format this version cannot read."""


class DownloadError(SdaeError, OSError):
    """A data set could not be downloaded, or what was downloaded failed its checksum."""


class SdaeWarning(UserWarning):
    """Something a user should know that does not stop the work (the CLI prints it as one
    line)."""


def warn(message: str, category: type[Warning] = SdaeWarning) -> None:
    """Issue ``message`` (a :class:`SdaeWarning` unless told) attributed to the first caller
    outside this package and the libraries that call our estimators (scikit-learn, joblib),
    whichever public function was called (``sdae.denoise`` or
    ``sdae.tasks.denoising.denoise``): Python's warning filters and its "file:line" then
    name the user's own line, not one of ours. (A thread started on one of our functions
    names the threading module.)"""
    import sys
    import warnings

    ours = tuple(f"{package}." for package in  # "sdae", however it was imported
                 (__name__.rpartition(".")[0], "sklearn", "joblib"))
    frame, level = sys._getframe(1), 2  # level 1 is this function
    while frame is not None and f"{frame.f_globals.get('__name__')}.".startswith(ours):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


class WarningsAbout:
    """``with WarningsAbout("photo.png") as said:`` holds back the library's warnings
    (:class:`SdaeWarning`) issued in the block and, at its end, issues each again as
    ``photo.png: message`` (by :func:`warn`), so that the one item of many it concerns (an
    image of a folder, a row of an experiment) is named, and the same message about two
    items is shown twice (Python shows a message from one line once). A message issued
    several times in the block is said once; ``said`` lists them as first issued.

    ``about=None`` says them as they were, to keep the list (a command's record of what it
    warned of). Other warnings are issued again as they were, from their own line, under
    the filters outside. All are said also when the block fails; then a warning that a
    filter turns into an error gives way to the block's own failure."""

    def __init__(self, about: str | None) -> None:
        self.about = about
        self.said: list[str] = []

    def __enter__(self) -> list[str]:
        import warnings

        self._catching = warnings.catch_warnings(record=True)
        self._caught = self._catching.__enter__()
        warnings.simplefilter("always", SdaeWarning)  # each item's, however many
        return self.said

    def __exit__(self, kind, value, traceback) -> None:
        import functools
        import warnings

        self._catching.__exit__(kind, value, traceback)
        for caught in self._caught:
            if issubclass(caught.category, SdaeWarning):
                if str(caught.message) in self.said:
                    continue
                self.said.append(str(caught.message))
                named = caught.message if self.about is None else \
                    f"{self.about}: {caught.message}"
                again = functools.partial(warn, str(named), caught.category)
            else:  # not ours: as it was, from its own line
                again = functools.partial(warnings.warn_explicit, caught.message,
                                          caught.category, caught.filename, caught.lineno)
            try:
                again()
            except Warning:  # a filter made it an error: the block's own failure comes first
                if kind is None:
                    raise


def check_int(value, name: str, minimum: int = 1) -> int:
    """``value`` as an int (numpy integers included) if it is one >= ``minimum``, else a
    :class:`ConfigError` naming the option."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ConfigError(f"{name} must be {kind}, got {value!r}")
    return int(value)
