"""Rating models: the published scorecard, the boosted model, calibration and grades."""
