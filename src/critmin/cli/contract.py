"""CLI group 'contract' (placeholder until its capability lands)."""
