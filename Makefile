# mediaflow: `make demo` runs the pipeline on sample media, `make test` runs every test.
# Every target installs what it needs (Debian packages, the pinned LocalStack venv) first, idempotently.

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never
STACK ?= mediaflow-local
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
# Where the function binaries are packaged, as `cargo lambda build` lays them out: <dir>/<name>/bootstrap.
LAMBDA_DIR := $(TARGET_DIR)/lambda
FUNCTIONS := ingest thumbnail transcode metadata
VENV := .venv
# The AWS environment of everything that talks to the local stack.
LOCAL_AWS := AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
	AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 MEDIAFLOW_STACK=$(STACK)
# The local stack: short timeouts and visibility timeouts so retries come back in seconds, and a
# smaller ladder so debug-built functions transcode quickly on two cores.
LOCAL_PARAMS := --param MaxReceiveCount=3 \
	--param IngestTimeout=30 --param IngestQueueVisibilityTimeout=30 \
	--param ThumbnailTimeout=15 --param ThumbnailQueueVisibilityTimeout=15 \
	--param MetadataTimeout=30 --param MetadataQueueVisibilityTimeout=30 \
	--param TranscodeTimeout=300 --param TranscodeQueueVisibilityTimeout=300 \
	--param Renditions=720,480 --param ReservedConcurrencyEnabled=true

.PHONY: deps setup build functions up deploy down demo test lint unit cfn-lint e2e bench fmt clean

deps:
	@scripts/install-deps.sh

## The pinned LocalStack venv, its executor plugin and DynamoDB Local (idempotent).
setup: deps
	@localstack/setup.sh

build: deps
	$(CARGO) build --workspace --release

## The function binaries (dev profile: media crates optimised; stripped to fit Lambda's 250 MB) as <name>/bootstrap, and the CLI.
functions: deps
	$(CARGO) build -p ingest -p thumbnail -p transcode -p metadata -p mediaflow-cli
	@for f in $(FUNCTIONS); do mkdir -p $(LAMBDA_DIR)/$$f && strip -o $(LAMBDA_DIR)/$$f/bootstrap $(TARGET_DIR)/debug/$$f; done

## LocalStack up (host mode, no Docker), the functions built, the stack deployed; prints the outputs.
up: setup functions
	@localstack/start.sh
	@$(MAKE) --no-print-directory deploy

deploy:
	@$(LOCAL_AWS) $(VENV)/bin/python localstack/deploy.py --template infra/template.yaml --stack $(STACK) \
		--lambda-dir $(LAMBDA_DIR) $(LOCAL_PARAMS)

down:
	@localstack/stop.sh

## README's first command: the stack up, the sample media uploaded and processed, a table and an HTML gallery.
demo: up
	@$(LOCAL_AWS) $(TARGET_DIR)/debug/mediaflow demo --stack $(STACK) --out out/demo samples

## README's second command: formatting, lints, unit tests, template lint, end-to-end tests on LocalStack.
test: deps lint unit cfn-lint e2e

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit: deps
	$(CARGO) test --workspace --exclude e2e

cfn-lint: setup
	$(VENV)/bin/cfn-lint infra/template.yaml

## Starts LocalStack, runs the executor plugin's tests and the e2e suite against a fresh deploy, stops it.
e2e: setup functions
	@$(LOCAL_AWS) STACK=$(STACK) LAMBDA_DIR=$(LAMBDA_DIR) LOCAL_PARAMS="$(LOCAL_PARAMS)" CARGO="$(CARGO)" scripts/e2e.sh

## Criterion benches (media core; video poster and probe), mediaflow against vipsthumbnail on real
## 12+ MP photos, and media-video against the ffmpeg CLI on a 1080p clip.
bench: deps
	$(CARGO) bench -p media-core
	$(CARGO) bench -p media-video --bench poster
	scripts/bench-vs-vips.sh
	shared/media-video/benches/compare-ffmpeg.sh

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
