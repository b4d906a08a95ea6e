#!/bin/bash
# SQS batch consumer in bash: appends each record's body to $OUT_DIR/bodies.txt, logs start/end times
# of each batch to $OUT_DIR/batches.txt, sleeps $BATCH_SLEEP seconds, and reports the record whose body
# is "fail-once" as a batch item failure the first time it sees it (ReportBatchItemFailures).
set -uo pipefail
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HDR=$(mktemp) EVT=$(mktemp)
  curl -sS -D "$HDR" -o "$EVT" "$API/invocation/next" || exit 1
  RID=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HDR" | cut -d: -f2 | tr -d '[:space:]')
  START=$(date +%s.%N)
  IDS=$(grep -o '"messageId": *"[^"]*"' "$EVT" | sed 's/.*"\([^"]*\)"$/\1/')
  BODIES=$(grep -o '"body": *"[^"]*"' "$EVT" | sed 's/.*"\([^"]*\)"$/\1/')
  echo "$BODIES" >> "$OUT_DIR/bodies.txt"
  FAILURES=""
  while IFS=$'\t' read -r id body; do
    if [ "$body" = "fail-once" ] && [ ! -e "$OUT_DIR/failed-once" ]; then
      touch "$OUT_DIR/failed-once"
      FAILURES="{\"itemIdentifier\": \"$id\"}"
    fi
  done < <(paste <(echo "$IDS") <(echo "$BODIES"))
  echo "batch $RID $(echo "$BODIES" | tr '\n' ' ')"
  sleep "${BATCH_SLEEP:-0.5}"
  echo "$$ $START $(date +%s.%N)" >> "$OUT_DIR/batches.txt"
  curl -sS -o /dev/null -X POST --data-binary "{\"batchItemFailures\": [$FAILURES]}" "$API/invocation/$RID/response"
  rm -f "$HDR" "$EVT"
done
