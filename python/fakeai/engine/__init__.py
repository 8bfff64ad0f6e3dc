"""The simulation: models catalog, timing and stream pacing."""
