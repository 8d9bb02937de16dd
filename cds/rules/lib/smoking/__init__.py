"""The `smoking` rule library, by version (see `cds.rules.lib`)."""
