"""The `requirements` rule library, by version (see `cds.rules.lib`)."""
