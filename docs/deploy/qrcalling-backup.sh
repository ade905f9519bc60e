#!/bin/sh
# /usr/local/bin/qrcalling-backup: a PostgreSQL dump of QrCalling's database, run daily by qrcalling-backup.timer.
# Uses libpq's environment (PGHOST, PGDATABASE, ...); BACKUP_DIR and KEEP_DAYS as set in qrcalling-backup.service.
# The tests run this script against a real PostgreSQL and restore its dump (DeploymentTests.cs).
set -eu
BACKUP_DIR="${BACKUP_DIR:-/var/backups/qrcalling}"
KEEP_DAYS="${KEEP_DAYS:-14}"
umask 077
mkdir -p "$BACKUP_DIR"
file="$BACKUP_DIR/qrcalling-$(date -u +%Y%m%dT%H%M%SZ).dump"
# Custom format (pg_restore picks tables); the UNLOGGED mailbox is transient signaling and is left out.
pg_dump --format=custom --no-unlogged-table-data --file="$file.partial"
mv "$file.partial" "$file"
find "$BACKUP_DIR" -name 'qrcalling-*.dump' -mtime +"$KEEP_DAYS" -delete
echo "$file"
