#!/usr/bin/env bash
# Runs a command with DynamoDB Local (in memory, on a free port) and DYNAMODB_ENDPOINT pointing at
# it, then stops it: `make unit` runs the use-case scenarios on the real DynamoDB conditions this way.
#   scripts/with-dynamodb-local.sh cargo test -p aws-adapters
# DynamoDB Local comes from `localstack/setup.sh` (`make setup`), which installs it for LocalStack.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="${MEDIAFLOW_LOCALSTACK_STATE:-$ROOT/.localstack}"
DDB="$STATE/fs/var/lib/localstack/lib/dynamodb-local/2"
if [[ ! -f "$DDB/DynamoDBLocal.jar" ]]; then
  echo "DynamoDB Local is not installed at $DDB: run \`make setup\` first." >&2
  exit 1
fi
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp)"
java -Djava.library.path="$DDB/DynamoDBLocal_lib" -jar "$DDB/DynamoDBLocal.jar" \
  -inMemory -port "$port" -disableTelemetry >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
# Any HTTP answer (400 to a bare GET) means it is serving.
for _ in $(seq 1 120); do
  if [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" || true)" != 000 ]]; then
    DYNAMODB_ENDPOINT="http://127.0.0.1:$port" "$@"
    exit $?
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.25
done
echo "DynamoDB Local did not start on port $port:" >&2
cat "$log" >&2
exit 1
