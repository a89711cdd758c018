"""Master person index: which source records are one person, under a stable person id."""
