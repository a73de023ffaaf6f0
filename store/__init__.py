"""Persistence: the database holds accounts, hosts, instances, run projections and logs."""
