"""The `conditions` rule library, by version (see `cds.rules.lib`)."""
