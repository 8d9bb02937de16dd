"""The `electrolytes` rule library, by version (see `cds.rules.lib`)."""
