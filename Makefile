# nixgen — see README.md. `make test` is what CI runs.
GO ?= go
SPECS ?= specs
OUT ?= generated

.PHONY: build test render check vet fmt-check bench

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
