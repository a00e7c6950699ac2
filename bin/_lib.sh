#!/usr/bin/env bash
# Shared set-up for bin/run and bin/test. Sourced, not executed.
# Every step is idempotent: re-running it on a prepared machine does (almost) nothing.
set -euo pipefail

MR_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The test kit (package "peers": SMTP sink, POP3 and DNS peers, MTA kit) and the helpers the
# tests share with bench/ (fuzz_corpus, vacuum_data) are imported by name from this directory
# by scripts run outside a test run: "PYTHONPATH=$MR_TESTKIT_PATH python -m peers.smtp_sink".
MR_TESTKIT_PATH="$MR_REPO/mail_reliability/tests"
MR_HOME="${MAIL_RELIABILITY_HOME:-${HOME:-/root}/.cache/mail_reliability}"
MR_DB_HOST="${MR_DB_HOST:-127.0.0.1}"
MR_DB_PORT="${MR_DB_PORT:-5432}"
MR_DB_USER="${MR_DB_USER:-odoo}"
MR_DB_PASSWORD="${MR_DB_PASSWORD:-odoo}"
ODOO_BRANCH=18.0
ODOO_GIT_URL="${ODOO_GIT_URL:-https://github.com/odoo/odoo.git}"
mkdir -p "$MR_HOME"

mr_say() { printf '[mail_reliability] %s\n' "$*" >&2; }
mr_die() {
    # mr_die EXIT_CODE MESSAGE...
    local rc=$1
    shift
    printf '[mail_reliability] ERROR: %s\n' "$*" >&2
    exit "$rc"
}

# --- Odoo source: $ODOO_SRC, /opt/odoo, a shallow clone of 18.0, else a clear failure ---------
mr_is_odoo18() {
    [ -f "$1/odoo-bin" ] && [ -f "$1/odoo/release.py" ] \
        && grep -Eq "^version_info = \(18, 0," "$1/odoo/release.py"
}

mr_find_odoo() {
    if [ -n "${ODOO_SRC:-}" ]; then
        mr_is_odoo18 "$ODOO_SRC" \
            || mr_die 3 "ODOO_SRC=$ODOO_SRC is not an Odoo 18.0 source tree (no odoo-bin or not version 18.0)."
        ODOO_SRC="$(cd "$ODOO_SRC" && pwd)"
    elif mr_is_odoo18 /opt/odoo; then
        ODOO_SRC=/opt/odoo
    elif mr_is_odoo18 "$MR_HOME/odoo-$ODOO_BRANCH"; then
        ODOO_SRC="$MR_HOME/odoo-$ODOO_BRANCH"
    else
        mr_say "No Odoo source in \$ODOO_SRC or /opt/odoo; trying: git clone --depth 1 -b $ODOO_BRANCH $ODOO_GIT_URL"
        rm -rf "$MR_HOME/odoo-$ODOO_BRANCH.partial"
        if command -v git >/dev/null \
            && timeout 900 git clone --quiet --depth 1 -b "$ODOO_BRANCH" "$ODOO_GIT_URL" \
                "$MR_HOME/odoo-$ODOO_BRANCH.partial" 2>/dev/null; then
            mv "$MR_HOME/odoo-$ODOO_BRANCH.partial" "$MR_HOME/odoo-$ODOO_BRANCH"
            ODOO_SRC="$MR_HOME/odoo-$ODOO_BRANCH"
        else
            rm -rf "$MR_HOME/odoo-$ODOO_BRANCH.partial"
            mr_die 3 "Odoo 18.0 source not found and GitHub is not reachable.
  Provide it in one of these ways, then run this command again:
    - export ODOO_SRC=/path/to/odoo-18.0   (a checkout containing odoo-bin)
    - unpack Odoo 18.0 into /opt/odoo
    - make github.com reachable so that 'git clone --depth 1 -b 18.0 $ODOO_GIT_URL' works"
        fi
    fi
    export ODOO_SRC
    mr_say "Odoo source: $ODOO_SRC"
}

# --- PostgreSQL: install if missing, start, create the odoo role ------------------------------
mr_as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"; else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; fi
}

mr_pg_ready() {
    PGPASSWORD="$MR_DB_PASSWORD" psql -h "$MR_DB_HOST" -p "$MR_DB_PORT" -U "$MR_DB_USER" \
        -d postgres -tAc 'select 1' >/dev/null 2>&1
}

mr_ensure_postgres() {
    command -v psql >/dev/null 2>&1 && mr_pg_ready && return 0
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
        [ "$(id -u)" = 0 ] || mr_die 4 "PostgreSQL is not installed and we are not root: install it (apt-get install -y postgresql) or point MR_DB_HOST/MR_DB_PORT/MR_DB_USER/MR_DB_PASSWORD at a server."
        mr_say "Installing PostgreSQL (apt-get install -y postgresql)"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2 \
            || mr_die 4 "apt-get install postgresql failed (see above)."
    fi
    local version
    version="$(ls /etc/postgresql | sort -n | tail -1)"
    if ! pg_lsclusters -h 2>/dev/null | awk -v v="$version" '$1==v && $2=="main" && $4=="online"' | grep -q .; then
        mr_say "Starting PostgreSQL $version (pg_ctlcluster $version main start)"
        [ "$(id -u)" = 0 ] || mr_die 4 "PostgreSQL $version is not running and we are not root to start it."
        pg_ctlcluster "$version" main start >&2 \
            || mr_die 4 "PostgreSQL $version could not be started (pg_ctlcluster $version main start failed; see /var/log/postgresql/postgresql-$version-main.log)."
    fi
    local exists
    exists="$(mr_as_postgres psql -p "$MR_DB_PORT" -tAc "select 1 from pg_roles where rolname='$MR_DB_USER'" 2>/dev/null || true)"
    if [ "$exists" != 1 ]; then
        mr_say "Creating PostgreSQL role '$MR_DB_USER'"
        mr_as_postgres psql -p "$MR_DB_PORT" -q -c \
            "CREATE ROLE \"$MR_DB_USER\" LOGIN SUPERUSER PASSWORD '$MR_DB_PASSWORD'" >&2 \
            || mr_die 4 "could not create the PostgreSQL role '$MR_DB_USER'."
    fi
    mr_pg_ready || mr_die 4 "PostgreSQL runs but role '$MR_DB_USER' cannot log in on $MR_DB_HOST:$MR_DB_PORT with the configured password."
}

# --- Python virtualenv with Odoo's requirements plus ours ------------------------------------
mr_python() {
    local candidate
    for candidate in "${MR_PYTHON:-}" python3.11 python3.12 python3.10 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 12)))'; then
            command -v "$candidate"
            return 0
        fi
    done
    mr_die 5 "Odoo 18 needs Python 3.10-3.12 with venv; none found (set MR_PYTHON to an interpreter)."
}

mr_ensure_venv() {
    local python stamp
    python="$(mr_python)"
    MR_VENV="${MR_VENV:-$MR_HOME/venv-$("$python" -c 'import sys; print("%d%d" % sys.version_info[:2])')}"
    stamp="$(cat "$ODOO_SRC/requirements.txt" "$MR_REPO/requirements.txt" "$MR_REPO/test-requirements.txt" \
        | sha256sum | cut -c1-16)"
    if [ -x "$MR_VENV/bin/python" ] && [ "$(cat "$MR_VENV/.mr-stamp" 2>/dev/null)" = "$stamp" ]; then
        export MR_VENV
        return 0
    fi
    (
        # One builder at a time; others wait and then find it ready.
        exec 9>"$MR_HOME/venv.lock"
        flock 9
        if [ -x "$MR_VENV/bin/python" ] && [ "$(cat "$MR_VENV/.mr-stamp" 2>/dev/null)" = "$stamp" ]; then
            exit 0
        fi
        mr_say "Building the virtualenv $MR_VENV (first run only; a few minutes)"
        [ -x "$MR_VENV/bin/python" ] || "$python" -m venv "$MR_VENV" \
            || mr_die 5 "could not create a virtualenv with $python (is python3-venv installed?)"
        local log="$MR_HOME/pip.log"
        : >"$log"
        mr_pip() {
            "$MR_VENV/bin/python" -m pip install --disable-pip-version-check "$@" >>"$log" 2>&1 \
                || { tail -30 "$log" >&2; mr_die 5 "pip install $* failed (full log: $log)."; }
        }
        # Odoo 18's pins build from source on 3.11: old setuptools, no build isolation, no python-ldap.
        mr_pip 'setuptools<70' setuptools_scm wheel
        grep -v '^python-ldap' "$ODOO_SRC/requirements.txt" >"$MR_HOME/odoo-requirements.txt"
        mr_pip --no-build-isolation -r "$MR_HOME/odoo-requirements.txt"
        mr_pip -r "$MR_REPO/requirements.txt" -r "$MR_REPO/test-requirements.txt"
        echo "$stamp" >"$MR_VENV/.mr-stamp"
    )
    export MR_VENV
}

# --- Helpers ---------------------------------------------------------------------------------
mr_port_in_use() {
    "$MR_VENV/bin/python" - "$1" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
finally:
    s.close()
sys.exit(1)
PY
}

mr_write_odoo_conf() {
    # mr_write_odoo_conf FILE [extra "key = value" lines...]
    local file=$1
    shift
    {
        echo "[options]"
        echo "addons_path = $ODOO_SRC/odoo/addons,$ODOO_SRC/addons,$MR_REPO"
        echo "db_host = $MR_DB_HOST"
        echo "db_port = $MR_DB_PORT"
        echo "db_user = $MR_DB_USER"
        echo "db_password = $MR_DB_PASSWORD"
        echo "admin_passwd = admin"
        echo "data_dir = $MR_HOME/filestore"
        printf '%s\n' "$@"
    } >"$file"
}

mr_setup() {
    mr_find_odoo
    mr_ensure_postgres
    mr_ensure_venv
    command -v chromium >/dev/null 2>&1 || mr_ensure_chromium
}

# --- Postfix, Dovecot, OpenDKIM: the real mail system of the end-to-end tests -------------------
MR_MTA_PACKAGES="postfix dovecot-core dovecot-pop3d dovecot-imapd dovecot-lmtpd opendkim opendkim-tools"

mr_mta_missing() {
    # Prints the Debian packages of the kit that are not installed (nothing when complete).
    local pkg
    for pkg in $MR_MTA_PACKAGES; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || printf '%s ' "$pkg"
    done
}

mr_ensure_mta() {
    # Installs the kit's packages like PostgreSQL above; their own services are not
    # started (the tests run private instances on loopback, see tests/mta_kit.py).
    # As root the kit is then required: MR_REQUIRE_MTA=1 turns a skip into a failure.
    if [ "$(id -u)" != 0 ]; then
        mr_say "Not root: the Postfix/Dovecot/OpenDKIM end-to-end tests will be skipped."
        return 0
    fi
    export MR_REQUIRE_MTA=1
    command -v dpkg-query >/dev/null 2>&1 || mr_die 6 "the Postfix/Dovecot/OpenDKIM kit needs Debian packages (no dpkg here); run as non-root to skip those tests."
    local missing
    missing="$(mr_mta_missing)"
    [ -n "$missing" ] || return 0
    mr_say "Installing the mail system of the end-to-end tests: $missing"
    local policy=/usr/sbin/policy-rc.d created=0
    if [ ! -e "$policy" ]; then
        # Install without starting the system's own postfix/dovecot/opendkim services.
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created=1
    fi
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
    local rc=0
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } >&2 || rc=$?
    [ "$created" = 1 ] && rm -f "$policy"
    [ "$rc" = 0 ] || mr_die 6 "apt-get install $missing failed (see above); the Postfix/Dovecot/OpenDKIM tests cannot run."
    missing="$(mr_mta_missing)"
    [ -z "$missing" ] || mr_die 6 "still missing after apt-get install: $missing"
}

mr_ensure_chromium() {
    # HttpCase tours need a Chromium; Odoo silently skips tours without one.
    [ "$(id -u)" = 0 ] || { mr_say "chromium is not installed; browser tours will fail."; return 0; }
    mr_say "Installing Debian's chromium for the browser tours"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2 \
        || mr_say "could not install chromium; browser tours will fail."
}
