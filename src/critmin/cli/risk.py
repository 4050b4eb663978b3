"""CLI group 'risk' (placeholder until its capability lands)."""
