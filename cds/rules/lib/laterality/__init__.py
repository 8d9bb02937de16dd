"""The `laterality` rule library, by version (see `cds.rules.lib`)."""
