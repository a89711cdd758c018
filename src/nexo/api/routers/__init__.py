"""API routers: they translate HTTP to calls of the parts, nothing more."""
