# mediaflow: `make demo` runs the pipeline on sample media, `make test` runs every test; `make help`
# lists the targets. Every target installs what it needs first, idempotently. Every path handed to a
# script or a test is absolute (scripts/check-makefile.py checks it), so nothing depends on the
# directory anything runs from.

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never
STACK ?= mediaflow-local
TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),$(ROOT)/target))
# Handed on absolute, to cargo and every script and test, whatever the caller set.
export CARGO_TARGET_DIR := $(TARGET_DIR)
# Where `cargo lambda build` leaves the function binaries: <dir>/<name>/bootstrap (and bootstrap.zip).
LAMBDA_DIR := $(TARGET_DIR)/lambda
# The `mediaflow` command of the demo and the e2e suite: built by `make package` in the same
# cargo-lambda build as the functions (same profile and dependencies), so it costs no second build.
export MEDIAFLOW_CLI := $(TARGET_DIR)/x86_64-unknown-linux-gnu/release/mediaflow
FUNCTIONS := ingest thumbnail transcode metadata moderate reconcile
# The functions that handle videos and so link FFmpeg, and those that decode images and so link
# libheif; the others must not.
VIDEO_FUNCTIONS := transcode metadata moderate
IMAGE_FUNCTIONS := thumbnail metadata moderate
VENV := $(ROOT)/.venv
# The static C libraries (FFmpeg, x264, dav1d, zimg, libde265, libheif) that every build links, from
# scripts/build-static-libs.sh's cache outside the clone. Recursively expanded, so each recipe sees
# the build that `libs` has just made. libheif-sys finds libheif with system-deps, which links
# statically only when told.
export PKG_CONFIG_PATH = $(shell $(ROOT)/scripts/build-static-libs.sh --print-prefix)/lib/pkgconfig
export SYSTEM_DEPS_LINK := static

# Downloaded media and the model (scripts/downloads.toml lists each file and its licence), outside
# the clone so that every clone shares them.
CACHE := $(HOME)/.cache/mediaflow
# Real 12 MP iPhone HEIC photos: the demo shows them, the HEIF tests and the benchmark read them.
export MEDIAFLOW_SAMPLE_PHOTOS := $(CACHE)/photos
# A 52 s film clip (Sintel's trailer) for the long-video tests and the demo's split transcode.
export MEDIAFLOW_SAMPLE_VIDEOS := $(CACHE)/sample-videos
# Yahoo's open_nsfw as ONNX: the moderate function's zip carries it; the CLI and the tests read it.
MODEL_DIR := $(CACHE)/models
export MEDIAFLOW_MODEL_PATH := $(MODEL_DIR)/open-nsfw.onnx
# Ordinary real photos for the moderation tests, and the onnxruntime venv they compare tract against.
export MEDIAFLOW_MODERATION_PHOTOS := $(CACHE)/moderation-photos
export MEDIAFLOW_ONNX_VENV := $(CACHE)/onnx-venv
# Camera JPEGs with an embedded preview for media-core's tests and bench.
export MEDIAFLOW_PREVIEW_PHOTOS := $(CACHE)/preview-photos
FIXTURES := sample-photos=$(MEDIAFLOW_SAMPLE_PHOTOS) sample-videos=$(MEDIAFLOW_SAMPLE_VIDEOS) \
	model=$(MODEL_DIR) moderation-photos=$(MEDIAFLOW_MODERATION_PHOTOS) preview-photos=$(MEDIAFLOW_PREVIEW_PHOTOS)
# 12+ MP wallpaper JPEGs for the image benchmarks, and Pillow's test stills' venv.
export MEDIAFLOW_BENCH_IMAGES := $(ROOT)/.bench/images
COVERAGE_VENV := $(CACHE)/coverage-venv

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

.PHONY: help demo test check lint unit cfn-lint e2e libs fixtures setup build package check-package up \
	deploy deploy-function down bench fuzz stills-coverage rehearse fmt clean

## Lists the targets, with what each is for.
help:
	@awk '/^## /{doc=substr($$0,4); next} /^[a-z-]+:/{if(doc){sub(/:.*/,"",$$1); printf "  make %-16s %s\n",$$1,doc} doc=""; next} {doc=""}' $(ROOT)/Makefile

## README's first command: the stack up, the sample media uploaded and processed, a table and an HTML gallery.
demo: up fixtures
	@$(LOCAL_AWS) $(MEDIAFLOW_CLI) demo --stack $(STACK) --out $(ROOT)/out/demo $(ROOT)/samples \
		$(MEDIAFLOW_SAMPLE_PHOTOS) $(MEDIAFLOW_SAMPLE_VIDEOS)

## README's second command, in two lanes that stop at the first failure: `check`, then `e2e`.
test:
	@$(MAKE) -C $(ROOT) --no-print-directory check
	@$(MAKE) -C $(ROOT) --no-print-directory e2e

## Lane 1, no LocalStack and no release build: formatting, clippy, unit and use-case tests (on DynamoDB Local too), the template's lint, the Makefile's paths.
check: lint unit cfn-lint
	@python3 $(ROOT)/scripts/check-makefile.py

## Formatting and clippy; needs only the static C libraries.
lint: libs
	cd $(ROOT) && $(CARGO) fmt --all -- --check
	cd $(ROOT) && $(CARGO) clippy --workspace --all-targets -- -D warnings

## Unit and use-case tests; the use-case scenarios also run on DynamoDB Local (from `setup`).
unit: libs fixtures setup
	@$(ROOT)/scripts/onnx-venv.sh $(MEDIAFLOW_ONNX_VENV) >/dev/null
	cd $(ROOT) && $(ROOT)/scripts/with-dynamodb-local.sh $(CARGO) test --workspace --exclude e2e

## The SAM template's lint (cfn-lint from the LocalStack venv).
cfn-lint: setup
	$(VENV)/bin/cfn-lint $(ROOT)/infra/template.yaml

## Lane 2: LocalStack, the executor plugin's tests and the e2e suite against a fresh deploy of the release artifacts.
e2e: setup package fixtures
	@$(LOCAL_AWS) STACK=$(STACK) LAMBDA_DIR=$(LAMBDA_DIR) LOCAL_PARAMS="$(LOCAL_PARAMS)" CARGO="$(CARGO)" \
		$(ROOT)/scripts/e2e.sh

## Debian packages and the static C libraries every build links (cached outside the clone).
libs:
	@$(ROOT)/scripts/build-static-libs.sh >/dev/null

## The test and demo media and the moderation model (scripts/downloads.toml; cached outside the clone).
fixtures:
	@python3 $(ROOT)/scripts/fetch.py $(FIXTURES)

## The pinned LocalStack venv, its executor plugin and DynamoDB Local (idempotent).
setup:
	@$(ROOT)/localstack/setup.sh

## The workspace, release profile, for this machine.
build: libs
	cd $(ROOT) && $(CARGO) build --workspace --release

## The release artifacts a user deploys: each function built by cargo-lambda (zig links against provided.al2023's glibc) as <name>/bootstrap(.zip), and the `mediaflow` command; then checked.
package: libs fixtures
	cd $(ROOT) && $(ROOT)/scripts/cargo-lambda build --release --output-format zip $(addprefix -p ,$(FUNCTIONS)) -p mediaflow-cli
	@rm -rf $(LAMBDA_DIR)/mediaflow
	@cd $(MODEL_DIR) && zip -q -X $(LAMBDA_DIR)/moderate/bootstrap.zip open-nsfw.onnx LICENSE* NOTICE* THIRD_PARTY_LICENSES/*
	@for f in $(FUNCTIONS); do (cd $(LAMBDA_DIR)/$$f && rm -f bootstrap && unzip -q -o bootstrap.zip); done
	@$(MAKE) -C $(ROOT) --no-print-directory check-package

## Each packaged bootstrap needs only glibc's libraries and no symbol newer than GLIBC_2.34, fits Lambda's 50 MB zip limit, and starts in a Debian bullseye root (glibc 2.31).
check-package:
	@$(ROOT)/scripts/check-lambda-artifacts.sh --with-ffmpeg "$(VIDEO_FUNCTIONS)" --with-heif "$(IMAGE_FUNCTIONS)" \
		$(addprefix $(LAMBDA_DIR)/,$(FUNCTIONS))

## LocalStack up (host mode, no Docker), the functions packaged, the stack deployed; prints the outputs.
up: setup package
	@$(ROOT)/localstack/start.sh
	@$(MAKE) -C $(ROOT) --no-print-directory deploy

## Deploys infra/template.yaml with the packaged functions to the running LocalStack.
deploy:
	@$(LOCAL_AWS) $(VENV)/bin/python $(ROOT)/localstack/deploy.py --template $(ROOT)/infra/template.yaml \
		--stack $(STACK) --lambda-dir $(LAMBDA_DIR) $(LOCAL_PARAMS)

## Redeploys one function's packaged code in place with cargo-lambda (the template's configuration is kept), e.g. FUNCTION=thumbnail.
deploy-function:
	@case " $(FUNCTIONS) " in *" $(FUNCTION) "*) ;; *) echo "usage: make deploy-function FUNCTION=<$(FUNCTIONS)>" >&2; exit 2;; esac
	@test -f $(LAMBDA_DIR)/$(FUNCTION)/bootstrap || $(MAKE) -C $(ROOT) --no-print-directory package
	@$(LOCAL_AWS) $(ROOT)/scripts/cargo-lambda deploy --endpoint-url http://127.0.0.1:4566 --region us-east-1 \
		--lambda-dir $(LAMBDA_DIR) --binary-name $(FUNCTION) $(STACK)-$(FUNCTION)

## Stops LocalStack (`make demo` leaves it running).
down:
	@$(ROOT)/localstack/stop.sh

## Benchmarks, each printing a ratio against a reference tool measured in the same run: cold starts, images against vipsthumbnail, video against the ffmpeg CLI, tract against onnxruntime.
bench: package fixtures
	@python3 $(ROOT)/scripts/fetch.py bench-images=$(MEDIAFLOW_BENCH_IMAGES)
	@$(ROOT)/scripts/onnx-venv.sh $(MEDIAFLOW_ONNX_VENV) >/dev/null
	$(ROOT)/scripts/bench-cold-start.py $(LAMBDA_DIR)
	cd $(ROOT) && $(CARGO) bench -p media-core
	cd $(ROOT) && $(CARGO) bench -p media-video --bench poster
	$(ROOT)/scripts/bench-vs-vips.sh
	$(ROOT)/shared/media-video/benches/compare-ffmpeg.sh
	$(ROOT)/shared/media-video/benches/segment-projection.sh
	$(ROOT)/shared/moderation-local/benches/compare-onnxruntime.sh

## Fuzzes sniff, read_metadata, process_image (HEIF included) and jpeg_dc with cargo-fuzz for FUZZ_SECONDS each (default 60).
fuzz: libs
	$(ROOT)/scripts/fuzz.sh $(or $(FUZZ_SECONDS),60)

## The share of Pillow's and pillow-heif's test stills that `mediaflow process` handles; fails under 97 % (90 % for HEIF/AVIF).
stills-coverage: package
	@test -x $(COVERAGE_VENV)/bin/python || python3 -m venv $(COVERAGE_VENV)
	@$(COVERAGE_VENV)/bin/pip install -q --disable-pip-version-check pillow==11.3.0 pillow-heif==1.8.1
	$(COVERAGE_VENV)/bin/python $(ROOT)/scripts/stills-coverage.py $(MEDIAFLOW_CLI) --min 97 --min-heif 90

## README's two commands in a fresh clone of HEAD with a scratch HOME and an empty CARGO_HOME, timed phase by phase.
rehearse:
	@$(ROOT)/scripts/rehearse-fresh.sh

## Formats the workspace.
fmt:
	cd $(ROOT) && $(CARGO) fmt --all

## Removes the build output.
clean:
	cd $(ROOT) && $(CARGO) clean
