#!/usr/bin/env bash
# Side-by-side benchmark of placement_pci and upstream OpenStack Placement on
# PostgreSQL, end to end: install upstream, and for each host count create
# two empty databases, start both services, load both with the same
# deployment through the REST API, run the named queries against both, stop
# both.  Tables and JSON land in bench/results/ (not committed).
#
#   bench/compare.sh [--hosts "100 1000"] [--repeat 10] [--timeout 300]
#                    [--workers 2] [--pg postgresql://postgres@127.0.0.1:5432]
#                    [--upstream-venv /tmp/upstream-placement]
#                    [--queries LIST] [--large-queries LIST] [--churn]
#                    [--suite] [--bulk-ours]
#
# --churn makes bench/run.py claim or free one VCPU before every timed
# request (see bench/README.md).
# --suite runs bench/suite.py instead of bench/run.py: static, churn,
# scheduler loop and last-unit burst side by side, tables written into
# bench/README.md.  --bulk-ours loads placement_pci with bench/bulkload.py
# (seconds) instead of through the API (the same rows).
# --queries is used below 500 hosts, --large-queries from 500 hosts on
# (the 8-GPU queries are left out there: upstream takes minutes per request
# with limit=10 and the unlimited one returns 1680 candidates per host).
set -euo pipefail
cd "$(dirname "$0")/.."

host_counts="100 1000"
repeat=10
request_timeout=300
workers=2
pg_base="postgresql://postgres@127.0.0.1:5432"
upstream_venv=/tmp/upstream-placement
upstream_port=8780
ours_port=8790
queries="perfload,nested_pci_granular,gpu8_isolate_limit10,gpu8_isolate,forbidden_live_migratable,numa_same_subtree"
large_queries="perfload,nested_pci_granular,forbidden_live_migratable,numa_same_subtree"
python=.venv/bin/python
ours_bin=.venv/bin/placement-pci
results_dir=bench/results
run_options=()
suite=0
bulk_ours=0

while [[ $# -gt 0 ]]; do
    case "$1" in
        --hosts) host_counts="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        --timeout) request_timeout="$2"; shift 2 ;;
        --workers) workers="$2"; shift 2 ;;
        --pg) pg_base="$2"; shift 2 ;;
        --upstream-venv) upstream_venv="$2"; shift 2 ;;
        --queries) queries="$2"; shift 2 ;;
        --large-queries) large_queries="$2"; shift 2 ;;
        --churn) run_options+=(--churn); shift ;;
        --suite) suite=1; shift ;;
        --bulk-ours) bulk_ours=1; shift ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

mkdir -p "$results_dir"
bash bench/upstream/install.sh "$upstream_venv"

server_pids=()
stop_servers() {
    for pid in "${server_pids[@]+"${server_pids[@]}"}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${server_pids[@]+"${server_pids[@]}"}"; do
        wait "$pid" 2>/dev/null || true
    done
    server_pids=()
}
trap stop_servers EXIT

wait_for() {  # URL SECONDS
    local deadline=$((SECONDS + $2))
    until curl -sf -o /dev/null -H 'X-Auth-Token: admin' "$1/"; do
        if ((SECONDS > deadline)); then
            echo "compare.sh: $1 did not come up" >&2
            return 1
        fi
        sleep 1
    done
}

recreate_database() {  # NAME
    psql "$pg_base/postgres" -q -c "DROP DATABASE IF EXISTS $1" \
        -c "CREATE DATABASE $1" >/dev/null
}

summary="$results_dir/compare.md"
: > "$summary"
for hosts in $host_counts; do
    upstream_db="bench_compare_upstream_$hosts"
    ours_db="bench_compare_ours_$hosts"
    recreate_database "$upstream_db"
    recreate_database "$ours_db"

    # The upstream worker timeout sits just above the request timeout, so a
    # request the benchmark gave up on stops burning CPU soon after.
    bash bench/upstream/serve.sh --venv "$upstream_venv" --port "$upstream_port" \
        --workers "$workers" --timeout "$((${request_timeout%.*} + 10))" \
        --db "postgresql+psycopg2://${pg_base#postgresql://}/$upstream_db" \
        > "$results_dir/upstream-$hosts.log" 2>&1 &
    server_pids+=($!)
    ours_url="postgresql+psycopg://${pg_base#postgresql://}/$ours_db"
    PLACEMENT_PCI_DATABASE_URL="$ours_url" "$ours_bin" db upgrade
    PLACEMENT_PCI_DATABASE_URL="$ours_url" "$ours_bin" serve \
        --bind "127.0.0.1:$ours_port" --workers "$workers" \
        > "$results_dir/ours-$hosts.log" 2>&1 &
    server_pids+=($!)
    wait_for "http://127.0.0.1:$upstream_port" 120
    wait_for "http://127.0.0.1:$ours_port" 120

    for target in "upstream:$upstream_port" "ours:$ours_port"; do
        echo "== loading $hosts hosts into ${target%%:*}"
        if [[ ${target%%:*} == ours && $bulk_ours == 1 ]]; then
            "$python" -m bench.bulkload --db "$ours_url" --hosts "$hosts"
        else
            "$python" -m bench.loadgen --url "http://127.0.0.1:${target#*:}" \
                --hosts "$hosts"
        fi
    done
    if ((suite)); then
        echo "== running the suite at $hosts hosts"
        "$python" -m bench.suite \
            --target "upstream=http://127.0.0.1:$upstream_port" \
            --target "ours=http://127.0.0.1:$ours_port" \
            --hosts "$hosts" --repeat "$repeat" --timeout "$request_timeout" \
            --markdown "$results_dir/suite-$hosts.md" \
            --json "$results_dir/suite-$hosts.json" --readme bench/README.md
        stop_servers
        continue
    fi

    selected="$queries"
    if ((hosts >= 500)); then selected="$large_queries"; fi
    echo "== running queries at $hosts hosts"
    "$python" -m bench.run \
        --target "upstream=http://127.0.0.1:$upstream_port" \
        --target "ours=http://127.0.0.1:$ours_port" \
        --queries "$selected" --repeat "$repeat" --timeout "$request_timeout" \
        --after-timeout-wait 10 --label "$hosts hosts" \
        "${run_options[@]+"${run_options[@]}"}" \
        --json "$results_dir/compare-$hosts.json" \
        --markdown "$results_dir/compare-$hosts.md"
    { cat "$results_dir/compare-$hosts.md"; echo; } >> "$summary"
    stop_servers
done
echo "== all tables: $summary"
