"""Preference dataset exports: streaming writers for trainer formats, with provenance manifests."""
