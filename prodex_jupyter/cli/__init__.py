"""The `prodex` command line: the same runs, decided from a terminal or another process."""
