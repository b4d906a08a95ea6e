#!/bin/bash
# A provided.al2023 runtime in bash: Lambda Runtime API with curl (next -> response/error).
# Event {"sleep": N} sleeps N seconds first; {"fail": true} reports a function error.
set -uo pipefail
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
echo "init pid $$ runtime api ${AWS_LAMBDA_RUNTIME_API}"
while true; do
  HDR=$(mktemp) EVT=$(mktemp) RESP=$(mktemp)
  curl -sS -D "$HDR" -o "$EVT" "$API/invocation/next" || exit 1
  RID=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HDR" | cut -d: -f2 | tr -d '[:space:]')
  DEADLINE=$(grep -i '^Lambda-Runtime-Deadline-Ms:' "$HDR" | cut -d: -f2 | tr -d '[:space:]')
  EVENT=$(cat "$EVT")
  echo "event $RID $EVENT"
  SLEEP=$(grep -o '"sleep": *[0-9.]*' "$EVT" | grep -o '[0-9.]*$' || true)
  if [ -n "$SLEEP" ]; then sleep "$SLEEP"; fi
  if grep -q '"fail": *true' "$EVT"; then
    curl -sS -o /dev/null -X POST -H 'Lambda-Runtime-Function-Error-Type: TestError' \
      --data-binary '{"errorType":"TestError","errorMessage":"asked to fail"}' "$API/invocation/$RID/error"
  else
    printf '{"event": %s, "request_id": "%s", "deadline_ms": %s, "pid": %s, "function": "%s", "memory": "%s", "handler": "%s", "task_root": "%s", "endpoint": "%s", "region": "%s", "access_key": "%s", "custom": "%s", "cwd": "%s"}' \
      "$EVENT" "$RID" "${DEADLINE:-0}" "$$" "${AWS_LAMBDA_FUNCTION_NAME:-}" "${AWS_LAMBDA_FUNCTION_MEMORY_SIZE:-}" \
      "${_HANDLER:-}" "${LAMBDA_TASK_ROOT:-}" "${AWS_ENDPOINT_URL:-}" "${AWS_REGION:-}" "${AWS_ACCESS_KEY_ID:-}" \
      "${CUSTOM_VAR:-}" "$PWD" > "$RESP"
    curl -sS -o /dev/null -X POST --data-binary "@$RESP" "$API/invocation/$RID/response"
  fi
  echo "done $RID"
  rm -f "$HDR" "$EVT" "$RESP"
done
