# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The addons run on every Python Odoo 18 supports (3.10 to 3.12).

The suite itself runs on one interpreter, so the sources are read: no API that
appeared after 3.10 (``datetime.UTC`` first of all), and the declared versions
agree. When a ``python3.10`` interpreter is installed, the addons are also
compiled with it.
"""

import ast
import glob
import os
import re
import shutil
import subprocess
import tempfile

from odoo.tests import BaseCase, tagged

ADDON = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(ADDON)
ADDONS = [
    path
    for path in (ADDON, os.path.join(REPO, "mail_reliability_mass_mailing"))
    if os.path.isdir(path)
]
# name imported from a module -> the Python version that added it
NEWER_NAMES = {
    ("datetime", "UTC"): "3.11",
    ("enum", "StrEnum"): "3.11",
    ("enum", "ReprEnum"): "3.11",
    ("typing", "Self"): "3.11",
    ("typing", "LiteralString"): "3.11",
    ("typing", "Never"): "3.11",
    ("typing", "assert_never"): "3.11",
    ("typing", "reveal_type"): "3.11",
    ("typing", "override"): "3.12",
    ("contextlib", "chdir"): "3.11",
    ("itertools", "batched"): "3.12",
    ("hashlib", "file_digest"): "3.11",
}
NEWER_MODULES = {"tomllib": "3.11", "wsgiref.types": "3.11"}
NEWER_BUILTINS = {"ExceptionGroup": "3.11", "BaseExceptionGroup": "3.11"}
NEWER_METHODS = {"enterContext": "3.11", "add_note": "3.11"}


def python_files():
    for addon in ADDONS:
        for folder, _dirs, files in os.walk(addon):
            for name in files:
                if name.endswith(".py"):
                    yield os.path.join(folder, name)


def newer_apis(source):
    """[(line, what, version)] of the APIs in ``source`` that Python 3.10 lacks."""
    found = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module in NEWER_MODULES:
                found.append((node.lineno, node.module, NEWER_MODULES[node.module]))
            for alias in node.names:
                version = NEWER_NAMES.get((node.module, alias.name))
                if version:
                    found.append((node.lineno, f"{node.module}.{alias.name}", version))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in NEWER_MODULES:
                    found.append((node.lineno, alias.name, NEWER_MODULES[alias.name]))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            version = NEWER_NAMES.get((node.value.id, node.attr))
            if version:
                found.append((node.lineno, f"{node.value.id}.{node.attr}", version))
        if isinstance(node, ast.Attribute) and node.attr in NEWER_METHODS:
            found.append((node.lineno, f".{node.attr}()", NEWER_METHODS[node.attr]))
        elif isinstance(node, ast.Name) and node.id in NEWER_BUILTINS:
            found.append((node.lineno, node.id, NEWER_BUILTINS[node.id]))
        elif type(node).__name__ == "TryStar":
            found.append((node.lineno, "except*", "3.11"))
    return found


@tagged("mail_reliability", "post_install", "-at_install")
class TestPythonVersions(BaseCase):
    def test_detector_finds_what_it_looks_for(self):
        sample = (
            "from datetime import UTC, timedelta\n"
            "import datetime\n"
            "import tomllib\n"
            "x = datetime.UTC\n"
            "try:\n    pass\nexcept* ValueError:\n    pass\n"
            "raise ExceptionGroup('x', [])\n"
        )
        what = [w for _line, w, _v in newer_apis(sample)]
        self.assertEqual(
            sorted(what),
            sorted(["datetime.UTC", "tomllib", "datetime.UTC", "except*", "ExceptionGroup"]),
        )
        self.assertEqual(newer_apis("from datetime import timezone\nx = timezone.utc\n"), [])

    def test_no_api_newer_than_python_310(self):
        problems = []
        for path in python_files():
            with open(path, encoding="utf-8") as handle:
                source = handle.read()
            for line, what, version in newer_apis(source):
                problems.append(f"{os.path.relpath(path, REPO)}:{line}: {what} (Python {version})")
        self.assertEqual(problems, [], "Odoo 18 also runs on Python 3.10")

    def test_declared_versions_agree(self):
        pyproject = os.path.join(REPO, "pyproject.toml")
        lib = os.path.join(REPO, "bin", "_lib.sh")
        if not (os.path.exists(pyproject) and os.path.exists(lib)):
            self.skipTest("not a checkout of the repository")
        with open(pyproject, encoding="utf-8") as handle:
            text = handle.read()
        requires = re.search(r'^requires-python\s*=\s*"([^"]+)"', text, re.M)
        target = re.search(r'^target-version\s*=\s*"py(\d)(\d+)"', text, re.M)
        self.assertTrue(requires and target, "requires-python and ruff's target-version")
        self.assertEqual(requires.group(1), ">=3.10,<3.13")
        self.assertEqual((target.group(1), target.group(2)), ("3", "10"))
        with open(lib, encoding="utf-8") as handle:
            lib_text = handle.read()
        self.assertIn("(3, 10) <= sys.version_info[:2] <= (3, 12)", lib_text)

    def test_compiles_with_python_310_when_installed(self):
        installed = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10*/bin/python3.10")))
        interpreter = installed[-1] if installed else shutil.which("python3.10")
        if not interpreter:
            self.skipTest("no python3.10 interpreter on this machine")
        probe = subprocess.run(
            [interpreter, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if probe.returncode or "(3, 10)" not in probe.stdout:
            self.skipTest(f"python3.10 does not run here: {probe.stderr.strip()[:200]}")
        with tempfile.TemporaryDirectory() as cache:
            result = subprocess.run(
                [interpreter, "-m", "compileall", "-q", *ADDONS],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
                env=dict(os.environ, PYTHONPYCACHEPREFIX=cache),
            )
        self.assertEqual(result.returncode, 0, result.stdout[-2000:] + result.stderr[-2000:])
