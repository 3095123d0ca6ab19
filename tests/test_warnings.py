"""The library's warnings: attributed to the caller's line, and named when said again."""

import warnings

import pytest

from sdae.errors import SdaeWarning, WarningsAbout, warn


def _library_call():  # stands for a function of the library warning the same way each time
    warn("2 of the 5 clusters are empty")


def test_warnings_about_names_each_item_and_shows_the_same_message_twice():
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("default")  # Python's own: once per message and line
        for item in ("seed 0, DEC", "seed 1, DEC"):
            with WarningsAbout(item) as said:
                _library_call()
                _library_call()  # said once
            assert said == ["2 of the 5 clusters are empty"]
    assert [str(w.message) for w in shown] == ["seed 0, DEC: 2 of the 5 clusters are empty",
                                               "seed 1, DEC: 2 of the 5 clusters are empty"]
    assert {w.category for w in shown} == {SdaeWarning}
    assert {w.filename for w in shown} == {__file__}  # the caller's line, not the library's


def test_warnings_about_nothing_keeps_the_list_and_says_them_as_they_were():
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with WarningsAbout(None) as said:
            _library_call()
    assert said == ["2 of the 5 clusters are empty"]
    assert [str(w.message) for w in shown] == ["2 of the 5 clusters are empty"]


def test_other_warnings_pass_as_they_were_under_the_filters_outside():
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        with WarningsAbout("item") as said:
            warnings.warn("old", DeprecationWarning, stacklevel=1)  # ignored outside
            line = _line_of(lambda: warnings.warn("plain", RuntimeWarning, stacklevel=1))
    assert said == []
    assert [(w.category, str(w.message), w.lineno) for w in shown] == \
        [(RuntimeWarning, "plain", line)]  # not named, from its own line


def _line_of(issue) -> int:
    import inspect

    issue()
    return inspect.getsourcelines(issue)[1]


def test_warnings_about_says_what_it_held_when_the_block_fails_and_keeps_the_failure():
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with pytest.raises(KeyError), WarningsAbout("item"):
            _library_call()
            raise KeyError("x")
    assert [str(w.message) for w in shown] == ["item: 2 of the 5 clusters are empty"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the warning would raise: the block's failure wins
        with pytest.raises(KeyError), WarningsAbout("item"):
            _library_call()
            raise KeyError("x")
