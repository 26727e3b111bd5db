"""Agreement, consensus, intervals and ranking as pure array functions: numpy only, never Django."""
