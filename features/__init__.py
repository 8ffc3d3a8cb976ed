"""Indicators: declared once in definitions/*.yaml, computed point-in-time by DuckDB or Spark."""

from chengxin.features.catalogue import Indicator, catalogue
from chengxin.features.engine import compute

__all__ = ["Indicator", "catalogue", "compute"]
