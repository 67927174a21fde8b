"""The Python examples of the repository's README run as written, against the real engine."""

import contextlib
import io
import os
import re
import tempfile
import unittest

from _support import PACKAGE_ROOT, engine_path

README = os.path.join(os.path.dirname(os.path.dirname(PACKAGE_ROOT)), "README.md")


def python_blocks(path):
    """The ```python blocks of a Markdown file."""
    with open(path, encoding="utf-8") as f:
        return re.findall(r"^```python\n(.*?)^```", f.read(), flags=re.M | re.S)


class ReadmeExamplesTest(unittest.TestCase):
    def test_every_python_block_of_the_readme_runs(self):
        binary = engine_path()
        blocks = python_blocks(README)
        self.assertTrue(blocks, "the README has no ```python example")
        saved = dict(os.environ)
        with tempfile.TemporaryDirectory() as data, tempfile.TemporaryDirectory() as workspace:
            os.environ.update(MINIONS_BIN=binary, MINIONS_DATA_DIR=data)
            cwd = os.getcwd()
            os.chdir(workspace)
            try:
                for block in blocks:
                    out = io.StringIO()
                    with contextlib.redirect_stdout(out):
                        exec(compile(block, README, "exec"), {"__name__": "readme_example"})
                    self.assertIn("end_turn", out.getvalue(), "the example's chat did not finish: " + out.getvalue())
            finally:
                os.chdir(cwd)
                os.environ.clear()
                os.environ.update(saved)


if __name__ == "__main__":
    unittest.main()
