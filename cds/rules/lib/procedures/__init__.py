"""The `procedures` rule library, by version (see `cds.rules.lib`)."""
