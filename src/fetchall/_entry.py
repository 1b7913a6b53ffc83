"""The ``fetchall`` command's entry point: ``--version`` answers before the command line
machinery (typer, rich) is loaded; everything else goes to ``cli``."""

import sys


def main() -> None:
    """Run the command."""
    if sys.argv[1:] == ["--version"]:
        from fetchall._version import __version__

        print(f"fetchall {__version__}")
        return
    from fetchall.cli import main as cli_main

    cli_main()
