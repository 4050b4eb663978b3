"""CLI group 'data' (placeholder until its capability lands)."""
