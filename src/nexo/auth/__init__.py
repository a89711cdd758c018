"""Machine clients, console users, tokens and Nexo's own keys."""
