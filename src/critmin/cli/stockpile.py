"""CLI group 'stockpile' (placeholder until its capability lands)."""
