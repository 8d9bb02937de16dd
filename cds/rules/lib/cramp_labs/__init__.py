"""The `cramp_labs` rule library, by version (see `cds.rules.lib`)."""
