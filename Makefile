# chatd: plain, phony targets. `make run` and `make test` are all a fresh
# machine needs.
GO       ?= go
BIN      := bin/chatd
CHROMIUM ?= /usr/bin/chromium

.PHONY: run build test test-go test-browser bench lint vet clean

build:
	$(GO) build -o $(BIN) ./cmd/chatd

run: build
	./$(BIN) serve

vet:
	$(GO) vet ./...

lint: vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

test: vet test-go test-browser

test-go:
	$(GO) test -race -count=1 -timeout 15m ./...

test-browser:
	@if [ ! -f static/tests/package.json ]; then echo "no browser tests"; \
	elif [ ! -x "$(CHROMIUM)" ]; then \
		if [ "$$CI" = "true" ]; then echo "browser tests: $(CHROMIUM) missing under CI"; exit 1; fi; \
		echo "browser tests SKIPPED: Chromium not found. Install it with: sudo apt-get install chromium"; \
	else \
		[ -d static/tests/node_modules ] || (cd static/tests && npm ci --no-audit --no-fund --silent); \
		$(GO) build -o $(BIN) ./cmd/chatd && cd static/tests && CHATD_BIN=../../$(BIN) CHROMIUM=$(CHROMIUM) node --test; \
	fi

# bench: the packages' micro-benchmarks (if any), then a short run of every
# chatbench scenario against two chatd nodes on a fresh PostgreSQL database
# and Redis db 8 (see BENCHMARKS.md). BENCH_ARGS replaces chatbench's short
# defaults; BENCH_DB=sqlite runs one node on the embedded defaults instead.
bench: build
	$(GO) build -o bin/chatbench ./cmd/chatbench
	$(GO) test -run '^$$' -bench . -benchmem ./chat/ ./store/ ./assign/
	cmd/chatbench/run.sh $(BENCH_ARGS)

clean:
	rm -rf bin data
