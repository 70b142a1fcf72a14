"""Everything that runs workflows: the log-count job, the local runner and the run commands."""
