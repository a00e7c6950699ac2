#!/usr/bin/env bash
# Shared by bin/bench, bin/bench-mailing, bin/bench-vacuum, bin/bench-chatter and bin/bench-all.
# Sourced after bin/_lib.sh and mr_setup, not executed.
#
#   MR_BENCH_DB_PREFIX   prefix of the benchmark databases (default mr_bench)
#   MR_BENCH_REUSE=1     keep a database of an earlier run when its addons are installed
MR_BENCH_DB_PREFIX="${MR_BENCH_DB_PREFIX:-mr_bench}"

mr_bench_psql() {
    PGPASSWORD="$MR_DB_PASSWORD" psql -h "$MR_DB_HOST" -p "$MR_DB_PORT" -U "$MR_DB_USER" "$@"
}

mr_bench_conf() {
    # mr_bench_conf NAME -> sets CONF (an Odoo config file in the cache) and ODOO (the install command)
    CONF="$MR_HOME/$1"
    mr_write_odoo_conf "$CONF"
    ODOO=("$MR_VENV/bin/python" "$ODOO_SRC/odoo-bin" -c "$CONF" --without-demo=all --stop-after-init --log-level=warn)
}

mr_bench_installed() {
    # mr_bench_installed DB MODULES -> true when every module of the comma list is installed in DB
    local db=$1 modules=$2 wanted found
    wanted="$(tr ',' '\n' <<<"$modules" | grep -c .)"
    found="$(mr_bench_psql -d "$db" -tAc "select count(*) from ir_module_module where state='installed'
        and name = any(string_to_array('$modules', ','))" 2>/dev/null || true)"
    [ "$found" = "$wanted" ]
}

mr_bench_drop_db() {
    PGPASSWORD="$MR_DB_PASSWORD" dropdb -h "$MR_DB_HOST" -p "$MR_DB_PORT" -U "$MR_DB_USER" --if-exists --force "$1"
    rm -rf "$MR_HOME/filestore/filestore/$1"
}

mr_bench_create_db() {
    # mr_bench_create_db DB MODULES: a fresh database with MODULES installed (needs mr_bench_conf).
    local db=$1 modules=$2
    if [ -n "${MR_BENCH_REUSE:-}" ] && mr_bench_installed "$db" "$modules"; then
        mr_say "Reusing benchmark database $db (MR_BENCH_REUSE)"
        return 0
    fi
    mr_bench_drop_db "$db"
    mr_say "Creating benchmark database $db (-i $modules)"
    "${ODOO[@]}" -d "$db" -i "$modules" || mr_die 8 "could not create $db"
}

mr_bench_clone_db() {
    # mr_bench_clone_db SOURCE COPY: COPY becomes a copy of SOURCE (createdb --template), filestore included.
    local src=$1 dst=$2
    mr_bench_drop_db "$dst"
    mr_say "Copying benchmark database $src to $dst"
    PGPASSWORD="$MR_DB_PASSWORD" createdb -h "$MR_DB_HOST" -p "$MR_DB_PORT" -U "$MR_DB_USER" -T "$src" "$dst" \
        || mr_die 8 "could not copy $src to $dst"
    if [ -d "$MR_HOME/filestore/filestore/$src" ]; then
        mkdir -p "$MR_HOME/filestore/filestore"
        cp -a "$MR_HOME/filestore/filestore/$src" "$MR_HOME/filestore/filestore/$dst"
    fi
}

mr_bench_run() {
    # mr_bench_run SCRIPT ARGS...: run bench/SCRIPT with Odoo importable and the config of mr_bench_conf.
    local script=$1
    shift
    mkdir -p "$MR_REPO/bench/results"
    PYTHONPATH="$ODOO_SRC:$MR_TESTKIT_PATH" "$MR_VENV/bin/python" "$MR_REPO/bench/$script" --config "$CONF" "$@"
}
