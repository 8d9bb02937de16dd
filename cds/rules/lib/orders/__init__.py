"""The `orders` rule library, by version (see `cds.rules.lib`)."""
