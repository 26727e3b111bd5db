"""Browser views: thin adapters over labeling services and selectors."""
