"""``python -m intergreen``: the ``intergreen`` command (:func:`intergreen.cli.main`)."""

from intergreen.cli import main

if __name__ == "__main__":
    main()
