#!/bin/sh
# Runs once, when the postgres volume is initialised (an empty data directory), as the superuser:
# durastack's own role and database, separate from Temporal's `temporal` and `temporal_visibility`
# (temporalio/auto-setup creates those). The password comes from POSTGRES_DURASTACK_PASSWORD,
# the one in DATABASE_URL of the api and worker services (docker-compose.yml).
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v password="${POSTGRES_DURASTACK_PASSWORD:?POSTGRES_DURASTACK_PASSWORD is not set}" <<'SQL'
CREATE ROLE durastack LOGIN PASSWORD :'password';
CREATE DATABASE durastack OWNER durastack;
SQL
