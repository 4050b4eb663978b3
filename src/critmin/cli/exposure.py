"""CLI group 'exposure' (placeholder until its capability lands)."""
