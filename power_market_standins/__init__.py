"""Stand-in ISO servers and real-format sample files for the demo, the benchmark and the tests.

Kept apart from `power_market_assets` so production code never depends on them; only the demo
and bench commands import this package (a test walks the imports to hold that line).
"""
