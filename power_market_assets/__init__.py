"""power-market-assets: US ISO electricity-market data as Dagster assets over a Parquet lake."""

__version__ = "0.1.0"
