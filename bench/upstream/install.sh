#!/usr/bin/env bash
# Install upstream OpenStack Placement into its own virtualenv, from the
# package registry by name, so the benchmark can compare against it.
#
#   bench/upstream/install.sh [VENV_DIR]      (default: /tmp/upstream-placement)
#
# Nothing of upstream is kept in this repository; the virtualenv lives
# outside the work tree. Re-running is cheap when it is already installed.
set -euo pipefail

venv_dir="${1:-/tmp/upstream-placement}"
placement_version="${UPSTREAM_PLACEMENT_VERSION:-16.0.0}"
python_bin="${PYTHON:-python3}"

if [[ -x "$venv_dir/bin/placement-manage" ]] &&
   "$venv_dir/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('openstack-placement') != '$placement_version')" 2>/dev/null; then
    echo "upstream placement $placement_version already installed in $venv_dir"
    exit 0
fi

"$python_bin" -m venv "$venv_dir"
"$venv_dir/bin/pip" install -q --upgrade pip
"$venv_dir/bin/pip" install -q \
    "openstack-placement==$placement_version" \
    psycopg2-binary \
    PyMySQL \
    gunicorn
# Importing placement.wsgi.api would build the app and demand a database.
"$venv_dir/bin/python" -c "import placement.wsgi, psycopg2, gunicorn" >/dev/null
echo "upstream placement $placement_version installed in $venv_dir"
