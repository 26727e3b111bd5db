"""Browser pages: the labeler workspace and the researcher/admin pages."""
