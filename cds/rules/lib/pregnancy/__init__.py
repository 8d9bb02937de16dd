"""The `pregnancy` rule library, by version (see `cds.rules.lib`)."""
