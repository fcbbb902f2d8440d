"""The allocation-candidate engine: pure Python, no Flask and no SQL."""
