"""Data center and supervision: the lake, the indicator catalog, engines, reports, alerts."""
