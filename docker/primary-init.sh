#!/usr/bin/env bash
# Run once by the postgres image when it creates the primary's cluster: let the replica stream.
set -euo pipefail
echo "host replication postgres all scram-sha-256" >> "$PGDATA/pg_hba.conf"
