"""The ``qa`` command (also ``python -m qa``): ``qa ask`` and ``qa search`` are handed to a running
``qa serve`` of the same archive where there is one (:mod:`qa.serving`), everything else runs
here (:mod:`qa.cli`, imported only then, as it loads the models' libraries)."""

from __future__ import annotations

import os
import sys

from qa.serving import SERVE_ENV, SERVED_COMMANDS, ask_server


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] in SERVED_COMMANDS and os.environ.get(SERVE_ENV, "1") != "0":
        status = ask_server(argv)
        if status is not None:
            sys.exit(status)
    from qa.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
