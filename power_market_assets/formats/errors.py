"""Errors raised by format readers: each names the file and the problem."""

from __future__ import annotations


class FormatError(ValueError):
    """A file does not match the layout its dataset expects."""

    def __init__(self, file: str, problem: str):
        self.file = file
        self.problem = problem
        super().__init__(f"{file}: {problem}")

    def __reduce__(self):
        """Pickled with both parts (a worker process sends it back as it was raised)."""
        return type(self), (self.file, self.problem)
