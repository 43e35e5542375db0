"""Protocols: TOML files -> frozen Protocol/Phase records, and the pacer that follows them."""
