#!/usr/bin/env bash
# Serve upstream OpenStack Placement (installed by install.sh) with gunicorn,
# on a given port and database, with noauth2 so the benchmark can use the
# token "admin".  Runs in the foreground until it gets SIGTERM/SIGINT.
#
#   bench/upstream/serve.sh --db URL [--port 8780] [--venv DIR]
#                           [--workers 2] [--timeout 600]
#                           [--set SECTION.OPTION=VALUE ...]
#
# --db is an SQLAlchemy URL, e.g. postgresql+psycopg2://postgres@127.0.0.1/bench_upstream
# --set adds placement.conf options, e.g. --set placement.max_allocation_candidates=1000
# --timeout is gunicorn's worker timeout: a request running longer than
# this gets its worker killed, so keep it above the benchmark's request
# timeout or long upstream queries are cut short.
set -euo pipefail

venv_dir=/tmp/upstream-placement
port=8780
workers=2
worker_timeout=600
database_url=""
extra_options=()

while [[ $# -gt 0 ]]; do
    case "$1" in
        --db) database_url="$2"; shift 2 ;;
        --port) port="$2"; shift 2 ;;
        --venv) venv_dir="$2"; shift 2 ;;
        --workers) workers="$2"; shift 2 ;;
        --timeout) worker_timeout="$2"; shift 2 ;;
        --set) extra_options+=("$2"); shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "serve.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [[ -z "$database_url" ]]; then
    echo "serve.sh: --db URL is required" >&2
    exit 2
fi
if [[ ! -x "$venv_dir/bin/gunicorn" ]]; then
    echo "serve.sh: no upstream install in $venv_dir (run bench/upstream/install.sh $venv_dir)" >&2
    exit 2
fi

config_dir="$(mktemp -d -t upstream-placement-conf.XXXXXX)"
{
    echo "[DEFAULT]"
    echo "debug = false"
    echo "[api]"
    echo "auth_strategy = noauth2"
    echo "[placement_database]"
    echo "connection = $database_url"
} > "$config_dir/placement.conf"
# Append each --set SECTION.OPTION=VALUE under its own section header;
# oslo.config merges repeated sections.
for option in "${extra_options[@]+"${extra_options[@]}"}"; do
    section="${option%%.*}"
    assignment="${option#*.}"
    printf '[%s]\n%s = %s\n' "$section" "${assignment%%=*}" "${assignment#*=}" \
        >> "$config_dir/placement.conf"
done
export OS_PLACEMENT_CONFIG_DIR="$config_dir"

"$venv_dir/bin/placement-manage" --config-dir "$config_dir" db sync

"$venv_dir/bin/gunicorn" \
    --bind "127.0.0.1:$port" \
    --workers "$workers" \
    --timeout "$worker_timeout" \
    --log-level warning \
    placement.wsgi.api:application &
gunicorn_pid=$!
cleanup() {
    kill -TERM "$gunicorn_pid" 2>/dev/null || true
    wait "$gunicorn_pid" 2>/dev/null || true
    rm -rf "$config_dir"
}
trap cleanup EXIT
trap 'exit 0' TERM INT
wait "$gunicorn_pid"
