"""The package's public names: lazily loaded, and declared for type checkers."""

import ast
import subprocess
import sys
from pathlib import Path

import sdae

INIT = Path(sdae.__file__)


def test_type_checkers_see_every_lazy_export_from_its_module():
    tree = ast.parse(INIT.read_text())
    declared = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for imp in node.body:
                for alias in imp.names:
                    declared[alias.name] = "sdae" + "." * (imp.level > 0) + imp.module
    assert declared == sdae._EXPORTS
    for name in sdae.__all__[1:]:
        assert getattr(sdae, name) is not None


def test_importing_the_package_does_not_import_torch():
    code = "import sys, sdae; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
