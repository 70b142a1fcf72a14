"""`python -m workflows <command>`: run-local, submit, result, ephemeral."""

from __future__ import annotations

import argparse
import sys

from workflows import runlocal, runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workflows", description="Run argo-fanout workflows locally or on a stack."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    runlocal.register(commands)
    runs.register(commands)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
