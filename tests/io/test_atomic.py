import os

import pytest

from sdae.io.atomic import atomic_write, write_json


def test_written_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_json(tmp_path / "a.json", {"x": 1})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
    assert path.read_text().strip() == '{\n  "x": 1\n}'


def test_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(TypeError):
        atomic_write(tmp_path / "b.bin", object())  # not bytes: fails inside the write
    assert list(tmp_path.iterdir()) == []
