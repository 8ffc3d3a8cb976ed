"""Rating models: the published scorecard, the boosted challenger, calibration and grades."""
