"""Small reports over the lake's frames (plots for asset metadata); no dagster imports."""

from power_market_assets.reporting.plots import hub_price_plot_png, png_markdown

__all__ = ["hub_price_plot_png", "png_markdown"]
