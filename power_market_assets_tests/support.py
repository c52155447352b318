"""Small helpers shared by the source-client tests."""

from __future__ import annotations


class SleepRecorder:
    """Stands in for time.sleep in HttpClient: records the waits instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
