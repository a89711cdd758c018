"""The exchange: person search, minimised person views and verification answers."""
