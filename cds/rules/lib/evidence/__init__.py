"""The `evidence` rule library, by version (see `cds.rules.lib`)."""
