"""HTTP edge: the app, routes, their dependencies, request bounds, error mapping."""
