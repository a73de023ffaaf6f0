"""Domain models shared by workflows, activities, the API and the CLI. No I/O here."""
