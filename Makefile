# baton — build, test and check. `make help` lists the targets.
CARGO ?= cargo
BATON_DEBUG := target/debug/baton
# cargo-nextest when it is installed, cargo test otherwise: both run the same tests.
TEST_CMD := $(shell command -v cargo-nextest >/dev/null 2>&1 && echo "nextest run --no-fail-fast" || echo "test --no-fail-fast")

.PHONY: help build test validate selftest install-test bench demo man

help:
	@echo "make build         release build (target/release/baton)"
	@echo "make test          all tests (unit, property, CLI integration, surface drift)"
	@echo "make validate      fmt check + clippy -D warnings + rustdoc -D warnings + tests + handbook/opencode checks"
	@echo "make selftest      baton selftest (end-to-end scenario in a temporary repository)"
	@echo "make install-test  install into a temporary root and run the installed selftest"
	@echo "make bench         benchmark against the git-plumbing baseline (docs/performance.md)"
	@echo "make demo          build and run a demo on a throwaway repository"
	@echo "make man           manual pages generated from the CLI, into target/man/"

build:
	$(CARGO) build --release

test:
	$(CARGO) $(TEST_CMD)

validate:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --document-private-items
	$(CARGO) $(TEST_CMD)
	$(CARGO) test --test it surfaces::

selftest:
	$(CARGO) build
	$(BATON_DEBUG) selftest

install-test:
	@root=$$(mktemp -d) && trap 'rm -rf "$$root"' EXIT && \
	$(CARGO) install --quiet --locked --path . --root "$$root" && \
	"$$root/bin/baton" --version && \
	"$$root/bin/baton" selftest

bench:
	$(CARGO) bench --bench cli && $(CARGO) bench --bench sync && $(CARGO) bench --bench workflow && $(CARGO) bench --bench delivery && $(CARGO) bench --bench daemon && $(CARGO) bench --bench learn && $(CARGO) bench --bench listing && $(CARGO) bench --bench reservations && $(CARGO) bench --bench startup

demo:
	$(CARGO) build
	bash scripts/demo.sh $(BATON_DEBUG)

man:
	$(CARGO) build
	$(BATON_DEBUG) man --dir target/man
