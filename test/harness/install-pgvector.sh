#!/usr/bin/env bash
# Builds and installs pgvector for the system PostgreSQL 15 (Debian 12 ships no pgvector package).
#
# Source: Debian's own pgvector source package from trixie (0.8.x), fetched with `apt-get source`
# through a PRIVATE apt configuration in a temp dir, so the system's sources.list is never touched.
# Idempotent: exits at once when vector.control is already installed.
#
# Needs: root (for `make install`), postgresql-server-dev-15, build-essential, dpkg-dev.
# Environment: PG_CONFIG (default /usr/lib/postgresql/15/bin/pg_config),
#              PGVECTOR_SUITE (default trixie), PGVECTOR_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
SUITE="${PGVECTOR_SUITE:-trixie}"
MIRROR="${PGVECTOR_MIRROR:-http://deb.debian.org/debian}"

if [ ! -x "$PG_CONFIG" ]; then
  echo "install-pgvector: $PG_CONFIG not found; install postgresql-server-dev-15 first" >&2
  exit 1
fi
SHAREDIR="$("$PG_CONFIG" --sharedir)"
if [ -f "$SHAREDIR/extension/vector.control" ]; then
  echo "install-pgvector: already installed ($SHAREDIR/extension/vector.control)"
  exit 0
fi

WORK="$(mktemp -d /tmp/pgvector-build.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/etc" "$WORK/lists/partial" "$WORK/cache/archives/partial" "$WORK/src"
echo "deb-src $MIRROR $SUITE main" > "$WORK/etc/sources.list"

# Every path apt would read or write points into $WORK; the system apt state is left alone.
APT_OPTS=(
  -o "Dir::Etc::SourceList=$WORK/etc/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$WORK/lists"
  -o "Dir::Cache=$WORK/cache"
  -o "Dir::Cache::pkgcache="
  -o "Dir::Cache::srcpkgcache="
  -o "APT::Sandbox::User=root"
)

start=$(date +%s)
apt-get "${APT_OPTS[@]}" update -qq
cd "$WORK/src"
# apt verified the Release signature (system archive keyring) on update and checks the downloaded
# files' hashes against the signed Sources index; --no-check only skips the uploader's .dsc signature,
# whose keyring (debian-keyring) is not installed.
apt-get "${APT_OPTS[@]}" source --download-only pgvector
dsc="$(ls ./pgvector_*.dsc | head -n1)"
dpkg-source --no-check -x "$dsc" pgvector >/dev/null
cd pgvector
echo "install-pgvector: building $(basename "$dsc" .dsc) against $("$PG_CONFIG" --version)"
make -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" >/dev/null
make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
echo "install-pgvector: installed into $SHAREDIR/extension in $(( $(date +%s) - start ))s"
