# triage — malspam triage pipeline.
# `make demo` and `make test` work on a fresh Debian machine (as root, or
# with sudo): they install what they need first.

GO        ?= go
BIN       ?= bin/triage
# libyara (cgo), Dovecot (the real IMAP server in the daemon tests) and
# sharutils (uuencode/uudecode: the uue parser's agreement test). The
# optional peers, clamav and a JDK, are not installed: their tests skip
# and say so (make bench-peers installs clamav).
APT_PKGS  := libyara-dev pkg-config gcc dovecot-imapd sharutils
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO      ?= samples/malicious/lnk-pdf-zip/input.eml samples/malicious/iqy-jp-photo/input.eml samples/clean/newsletter-ja/input.eml

.PHONY: all deps build demo test test-short vet fuzz bench samples clean

all: build

# deps installs the Debian packages the build and the tests need, only when
# one of them is missing.
deps:
	@missing=""; for p in $(APT_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
	@command -v $(GO) >/dev/null || { echo "Go is required (https://go.dev/dl/)"; exit 1; }

build: deps
	$(GO) build -o $(BIN) ./cmd/triage

# demo triages bundled inert samples and prints the verdicts with evidence.
demo: build
	@for f in $(DEMO); do ./$(BIN) $$f; code=$$?; echo "(exit code $$code)"; echo; done; true

# test runs vet, every unit/integration test (real YARA, real Dovecot), the
# sample regression suite and a short run of every fuzz target.
test: deps
	@test -z "$$(gofmt -l cmd pipeline parsers rules samples)" || { echo "gofmt needed:"; gofmt -l cmd pipeline parsers rules samples; exit 1; }
	$(GO) vet ./...
	$(GO) run ./samples/gen -check
	$(GO) test -count=1 ./...
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(CI_FUZZTIME)

vet:
	$(GO) vet ./...

# fuzz runs every fuzz target (one per parser, the rule reader, and the whole pipeline) for
# FUZZTIME each; `make test` runs them briefly (CI_FUZZTIME). Crashers land
# in the package's testdata/fuzz and stay as regression inputs. The CI run
# counts executions rather than seconds: go1.26's fuzz coordinator can fail
# a duration run with a spurious "context deadline exceeded" as the time
# runs out (golang/go#75804, fixed in go1.27).
FUZZTIME ?= 60s
CI_FUZZTIME ?= 300x
fuzz: deps
	@for pkg in $$($(GO) list ./parsers/... ./pipeline/... ./rules/...); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "== fuzz $$pkg $$t ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1s $$pkg >/tmp/fuzz.$$$$.log 2>&1 || { cat /tmp/fuzz.$$$$.log; rm -f /tmp/fuzz.$$$$.log; exit 1; }; \
			tail -1 /tmp/fuzz.$$$$.log; rm -f /tmp/fuzz.$$$$.log; \
		done; \
	done

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./pipeline/

# bench-peers generates the mixed benchmark corpus (BENCH_SIZE MB) and
# measures, in one run, triage's CLI batch mode and pipeline API against
# clamscan (with triage's rules), the yara CLI and sha256sum on the same
# bytes; it prints the ratios and the command to reproduce.
BENCH_SIZE ?= 100
.PHONY: bench-peers
bench-peers: build
	@missing=""; for p in clamav yara; do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
	./$(BIN) bench --size $(BENCH_SIZE)

samples:
	$(GO) run ./samples/gen

clean:
	rm -rf bin
