# nixgen — see README.md. `make test` is what CI runs.
GO ?= go
SPECS ?= specs
OUT ?= generated

# urfave_cli_no_docs leaves out urfave/cli's man page and Markdown
# generators (and their Markdown library), whose package initialisation every
# nixgen-helper start paid for; flake.nix builds with the same tags, and the
# tests (whose binaries run as the helper) too.
TAGS ?= urfave_cli_no_docs

.PHONY: build test render check vet fmt-check bench docs vendorhash vendorhash-check

build:
	$(GO) build -tags $(TAGS) -o bin/ ./cmd/...

test: vet fmt-check check
	$(GO) test -tags $(TAGS) -count=1 -timeout 30m ./...

render:
	$(GO) run ./cmd/nixgen render --specs $(SPECS) --out $(OUT)

check:
	$(GO) run ./cmd/nixgen check --specs $(SPECS) --out $(OUT)

vet:
	$(GO) vet -tags $(TAGS) ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

bench:
	$(GO) test -tags $(TAGS) -run '^$$' -bench . -benchtime 3x ./...

# The spec reference, generated from the schema (a test keeps it current).
docs:
	$(GO) run ./cmd/nixgen docs --out docs/spec-reference.md

# buildGoModule's vendorHash in flake.nix, recomputed from go.mod (run after
# changing dependencies; a test fails while it is stale).
vendorhash:
	$(GO) run ./cmd/vendorhash -write

vendorhash-check:
	$(GO) run ./cmd/vendorhash -check
