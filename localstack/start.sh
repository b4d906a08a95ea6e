#!/usr/bin/env bash
# Start LocalStack 4.13.1 in host mode (no Docker) in the background; wait until it is healthy.
# No-op when it already answers. Needs localstack/setup.sh to have run (it runs it when the venv is missing).
#
#   localstack/start.sh            # -> http://127.0.0.1:4566, state in <repo>/.localstack
#
# Env overrides: MEDIAFLOW_VENV, MEDIAFLOW_LOCALSTACK_STATE, LOCALSTACK_START_TIMEOUT (s, default 90),
# LOCALSTACK_SERVICES, LS_LOG, and any LocalStack config variable (passed through).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
VENV="${MEDIAFLOW_VENV:-$ROOT/.venv}"
STATE="${MEDIAFLOW_LOCALSTACK_STATE:-$ROOT/.localstack}"
PIDFILE="$STATE/localstack.pid"
LOGFILE="$STATE/localstack.log"
PORT=4566
HEALTH="http://127.0.0.1:$PORT/_localstack/health"
TIMEOUT="${LOCALSTACK_START_TIMEOUT:-90}"

healthy() { curl -sf -m 2 -o /dev/null "$HEALTH"; }

if healthy; then
  echo "[start] LocalStack already running at http://127.0.0.1:$PORT"
  exit 0
fi

running_pid() {  # the pid in the PID file, if that process is a LocalStack
  local p
  p="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null && tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q 'localstack.runtime.main'
}

if running_pid; then
  echo "[start] LocalStack pid $(cat "$PIDFILE") is running but not healthy yet; waiting"
else
  if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -I -c 'import localstack, mediaflow_local_executor' 2>/dev/null; then
    "$HERE/setup.sh"
  fi
  mkdir -p "$STATE/fs"
  rm -f "$STATE/executor-stats.json"

  # LocalStack reads its configuration from the environment
  export GATEWAY_LISTEN="127.0.0.1:$PORT"
  export LOCALSTACK_HOST="127.0.0.1:$PORT"
  export SERVICES="${LOCALSTACK_SERVICES:-s3,sqs,sns,events,dynamodb,cloudformation,lambda,iam,sts,logs,cloudwatch}"
  export OVERRIDE_IN_DOCKER=0          # this machine has /.dockerenv; we are not in LocalStack's image
  export FILESYSTEM_ROOT="$STATE/fs"   # all state and LocalStack packages (DynamoDB Local, "java 21")
  export DNS_ADDRESS=0                 # no DNS server (it would bind :53)
  export DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1
  export EAGER_SERVICE_LOADING=1
  export LAMBDA_RUNTIME_EXECUTOR=local-process
  # queue URLs like http://127.0.0.1:4566/queue/us-east-1/000000000000/name (they resolve here; the
  # default "standard" strategy gives http://sqs.us-east-1.127.0.0.1:4566/..., which does not)
  export SQS_ENDPOINT_STRATEGY="${SQS_ENDPOINT_STRATEGY:-path}"
  # event source mappings: poll every 0.1 s (default 1 s between batches) and back off at most 1 s
  # when the source is empty (default 10 s, i.e. up to 10 s before a new message is picked up)
  export LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC="${LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC:-0.1}"
  export LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC="${LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC:-1}"
  export MEDIAFLOW_EXECUTOR_STATS="${MEDIAFLOW_EXECUTOR_STATS:-$STATE/executor-stats.json}"
  export MEDIAFLOW_EXECUTOR_LOG_DIR="${MEDIAFLOW_EXECUTOR_LOG_DIR:-$STATE/lambda-logs}"
  # the host's AWS variables are for clients, not for LocalStack itself
  unset AWS_ENDPOINT_URL AWS_PROFILE

  cd "$STATE"
  # setsid: own process group/session, so a Ctrl-C in this shell does not reach it
  setsid "$VENV/bin/python" -m localstack.runtime.main >"$LOGFILE" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  echo "[start] LocalStack pid $(cat "$PIDFILE"), log $LOGFILE"
fi

pid="$(cat "$PIDFILE")"
start_ts=$SECONDS
until healthy; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "[start] LocalStack exited during startup; last log lines:" >&2
    tail -n 40 "$LOGFILE" >&2 || true
    rm -f "$PIDFILE"
    exit 1
  fi
  if (( SECONDS - start_ts > TIMEOUT )); then
    echo "[start] LocalStack not healthy after ${TIMEOUT}s; last log lines:" >&2
    tail -n 40 "$LOGFILE" >&2 || true
    exit 1
  fi
  sleep 0.5
done
echo "[start] LocalStack healthy at http://127.0.0.1:$PORT after $((SECONDS - start_ts))s"
