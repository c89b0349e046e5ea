# nixgen — see README.md. `make test` is what CI runs.
GO ?= go
SPECS ?= specs
OUT ?= generated

.PHONY: build test render check vet fmt-check bench docs vendorhash vendorhash-check

build:
	$(GO) build -o bin/ ./cmd/...

test: vet fmt-check check
	$(GO) test -count=1 ./...

render:
	$(GO) run ./cmd/nixgen render --specs $(SPECS) --out $(OUT)

check:
	$(GO) run ./cmd/nixgen check --specs $(SPECS) --out $(OUT)

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

# The spec reference, generated from the schema (a test keeps it current).
docs:
	$(GO) run ./cmd/nixgen docs --out docs/spec-reference.md

# buildGoModule's vendorHash in flake.nix, recomputed from go.mod (run after
# changing dependencies; a test fails while it is stale).
vendorhash:
	$(GO) run ./cmd/vendorhash -write

vendorhash-check:
	$(GO) run ./cmd/vendorhash -check
