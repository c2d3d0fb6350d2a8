"""Puts the firmware project (platformio.ini and firmware/) into the wheel as vwwdeploy/firmware/project/.

pyproject.toml holds everything else. The copy is made at build time, not kept in the tree, so a checkout has
one firmware/ to edit; vwwdeploy.firmware.project finds the checkout first and the packaged copy otherwise.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# What a user's build needs; the host unit tests (firmware/tests) and a checkout's generated model do not ship.
LEAVE_OUT = shutil.ignore_patterns("__pycache__", "*.pyc", "generated", "tests")


class BuildPyWithFirmware(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # an editable install builds in the checkout itself
            return
        target = Path(self.build_lib) / "vwwdeploy" / "firmware" / "project"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(HERE / "firmware", target / "firmware", ignore=LEAVE_OUT)
        shutil.copy2(HERE / "platformio.ini", target / "platformio.ini")
        # Each Edge env's upload_command runs it, so `pio run -t upload` works in the unpacked project too.
        (target / "tools").mkdir()
        shutil.copy2(HERE / "tools" / "pio_upload.py", target / "tools" / "pio_upload.py")


setup(cmdclass={"build_py": BuildPyWithFirmware})
