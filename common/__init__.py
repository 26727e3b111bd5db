"""Pieces every app shares and none owns: domain errors and the injectable clock."""
