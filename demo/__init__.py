"""`make demo`: the whole system on one machine, on embedded defaults (no AWS, no GPU, no internet)."""
