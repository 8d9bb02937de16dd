"""The `complaints` rule library, by version (see `cds.rules.lib`)."""
