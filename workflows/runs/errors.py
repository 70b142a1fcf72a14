"""The one error type of the run commands: a one-line message and the exit code it maps to."""

from __future__ import annotations

# Exit codes of submit, result and ephemeral (the job's own steps use 1 and 2 the same way).
EXIT_OK = 0
EXIT_RUN_FAILED = 1  # the workflow failed, errored or did not finish in time
EXIT_USAGE = 2  # bad arguments, or a stack/cluster/template the command cannot use
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT


class RunError(Exception):
    """A failure the user can act on; the CLI prints ``error: <message>`` and exits with code."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code
