"""The `medications` rule library, by version (see `cds.rules.lib`)."""
