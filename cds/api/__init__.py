"""HTTP edge: routes, dependencies, error mapping."""
