"""The `kidney` rule library, by version (see `cds.rules.lib`)."""
