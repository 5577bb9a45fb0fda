"""yigongti: the county medical community platform."""
