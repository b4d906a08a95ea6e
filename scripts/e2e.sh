#!/usr/bin/env bash
# The end-to-end suite (`make e2e`): LocalStack up (unless already running), the executor plugin's
# own tests, a fresh deploy of infra/template.yaml with the packaged functions (LAMBDA_DIR, from
# `make package`), the e2e crate against it; LocalStack is stopped at the end if this script
# started it. Expects the AWS variables `make` sets for the local stack, and MEDIAFLOW_CLI (the
# release `mediaflow` of `make package`, which a test runs).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
: "${STACK:?}" "${LAMBDA_DIR:?}" "${MEDIAFLOW_CLI:?}" "${CARGO:=cargo}"

started=0
if ! curl -sf http://127.0.0.1:4566/_localstack/health >/dev/null 2>&1; then
  localstack/start.sh
  started=1
fi
cleanup() { if [ "$started" = 1 ]; then localstack/stop.sh; fi; }
trap cleanup EXIT

echo "== executor plugin tests"
.venv/bin/python -m pytest localstack/tests -q -p no:cacheprovider

echo "== deploy $STACK"
# shellcheck disable=SC2086 # LOCAL_PARAMS is a list of --param K=V words
.venv/bin/python localstack/deploy.py --template infra/template.yaml --stack "$STACK" --lambda-dir "$LAMBDA_DIR" $LOCAL_PARAMS

echo "== end-to-end tests"
"$CARGO" test -p e2e --test pipeline -- --nocapture
# On their own: these kill or replace the functions' processes, which would disturb the tests above.
"$CARGO" test -p e2e --test crash -- --nocapture
"$CARGO" test -p e2e --test redeploy -- --nocapture
# Reconciles the whole table and switches the uploads bucket's notifications off for a moment.
"$CARGO" test -p e2e --test reconcile -- --nocapture
# One test at a time: the second watches /tmp, which the first one's transcodes write to.
"$CARGO" test -p e2e --test long_video -- --nocapture --test-threads=1
# Sets the moderate function's threshold to 0 for a moment (every image flagged), then back.
"$CARGO" test -p e2e --test moderation -- --nocapture
