"""The `results` rule library, by version (see `cds.rules.lib`)."""
