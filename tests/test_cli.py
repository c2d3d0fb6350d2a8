import subprocess
import sys

from vwwdeploy.cli import COMMANDS, main


def test_help_lists_every_command(capsys):
    try:
        main(["--help"])
    except SystemExit as exc:
        assert exc.code == 0
    out = capsys.readouterr().out
    for name, _, _ in COMMANDS:
        assert name in out


def test_every_command_has_help():
    for name, _, _ in COMMANDS:
        result = subprocess.run(
            [sys.executable, "-m", "vwwdeploy", name, "--help"], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        assert "usage:" in result.stdout


def test_unknown_command_is_one_line_error():
    result = subprocess.run([sys.executable, "-m", "vwwdeploy", "nope"], capture_output=True, text=True)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
