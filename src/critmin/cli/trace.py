"""CLI group 'trace' (placeholder until its capability lands)."""
