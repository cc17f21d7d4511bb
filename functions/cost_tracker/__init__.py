"""The cost-tracker Lambda: reads gateway usage, adds GPU hours, pushes cost metrics."""
