"""venous-insufficiency: chronic venous disease and post-thrombotic syndrome (§17)."""
