"""The `text` rule library, by version (see `cds.rules.lib`)."""
