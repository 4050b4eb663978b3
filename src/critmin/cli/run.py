"""CLI group 'run' (placeholder until its capability lands)."""
