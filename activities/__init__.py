"""Activities: where the world is touched. Each is idempotent per job submission id."""
