"""The `durastack` command line: server processes, and a client that talks only to the API."""
