# mediaflow: `make demo` runs the pipeline on sample media, `make test` runs every test.
# Every target installs what it needs (Debian packages) first, idempotently.

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: deps build test lint unit bench fmt clean

deps:
	@scripts/install-deps.sh

build: deps
	$(CARGO) build --workspace --release

## Everything CI runs: formatting, lints, unit and integration tests.
test: deps lint unit

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit: deps
	$(CARGO) test --workspace

## Criterion benches of the media core, then mediaflow against vipsthumbnail on real 12+ MP photos.
bench: deps
	$(CARGO) bench -p media-core
	scripts/bench-vs-vips.sh

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
