"""Process plumbing: settings, logging, the Temporal client, and how processes are composed."""
