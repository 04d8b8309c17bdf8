"""``python -m intergreen`` and the ``intergreen`` console script: the ``intergreen`` command
(:func:`intergreen.cli.main`), with Ctrl-C during its imports (a second or two: SUMO, torch,
stable-baselines3) ending it as Ctrl-C does later, with ``interrupted`` and exit code 130
rather than a traceback."""

import sys


def main() -> None:
    """Import the command line, then run it."""
    try:
        from intergreen.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    run()


if __name__ == "__main__":
    main()
