# edge — make targets. `make demo` and `make test` are the two a newcomer needs.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
GOFLAGS_TEST ?= -race -count=1 -timeout 15m
FUZZTIME ?= 5s

.PHONY: all build test prereqs fmt-check vet allocs fuzz-short demo bench bench-compare bench-memory soak clean docker

all: build

build: ## build bin/edge and bin/shop
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/edge ./cmd/edge
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/shop ./examples/shop

prereqs: ## check Go, redis-server and PostgreSQL; installs nothing
	@bash scripts/prereqs.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

test: prereqs fmt-check vet ## vet + race tests (integration included) + allocation tests + short fuzzing
	$(GO) test $(GOFLAGS_TEST) ./...
	@$(MAKE) --no-print-directory allocs
	@$(MAKE) --no-print-directory fuzz-short

# The race detector allocates on its own, and sync.Pool drops items under
# it: the tests that count allocations skip themselves there and run here.
allocs: ## the zero-allocation tests, without the race detector
	$(GO) test -count=1 -timeout 10m -run '$(ALLOC_TESTS)' ./...

ALLOC_TESTS := Alloc|SoldOutAnswerCost|SharedHeaderHit

fuzz-short: ## run every fuzz target briefly (FUZZTIME=5s)
	@bash scripts/fuzz.sh $(FUZZTIME)

demo: build ## edge in front of the example shop, in-memory mode
	@bash scripts/demo.sh

bench: build ## Go benchmarks and a load run (wrk) with ratios
	@bash scripts/bench.sh

bench-compare: build ## edge side by side with Varnish, nginx and a bare fasthttp ceiling (installs varnish, nginx, wrk when missing)
	@bash scripts/bench-compare.sh

bench-memory: build ## edge's RSS with cache.size 64MiB after a million distinct URLs (MEM_URLS=...); PASS/MISS against the stated overhead
	@bash scripts/bench-memory.sh

soak: build ## mixed traffic for SOAK_DURATION (default 10m); RSS, heap, goroutines at start and end
	@bash scripts/soak.sh

docker:
	docker build -t edge:$(VERSION) .

clean:
	rm -rf bin
