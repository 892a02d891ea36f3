# chatd: plain, phony targets. `make run` and `make test` are all a fresh
# machine needs.
GO       ?= go
BIN      := bin/chatd
CHROMIUM ?= /usr/bin/chromium

.PHONY: run build test test-go test-browser fuzz bench lint vet clean

build:
	$(GO) build -o $(BIN) ./cmd/chatd

run: build
	./$(BIN) serve

vet:
	$(GO) vet ./...

lint: vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

test: vet test-go fuzz test-browser

# fuzz: a short run of every fuzz target (seeded from each package's
# testdata/fuzz), FUZZTIME each; a failing input is saved under
# testdata/fuzz for `go test` to replay. FUZZTIME=10m for a long hunt.
FUZZTIME ?= 3s
FUZZ_TARGETS := \
	./chat:FuzzMask ./chat:FuzzMaskCards \
	./chat/access:FuzzVisitorToken \
	./chat/live:FuzzDecodeFrame \
	./chat/rest:FuzzLimit \
	./chat/accounts:FuzzVisitorBody ./chat/accounts:FuzzAgentBody ./chat/accounts:FuzzLoginBody ./chat/accounts:FuzzAuditQuery \
	./chat/accounts:FuzzAPIKeyBody ./store:FuzzCursor \
	./transcript:FuzzCreateTicketBody ./transcript:FuzzChangeTicketBody ./transcript:FuzzReplyBody \
	./transcript:FuzzMergeBody ./transcript:FuzzEscalateBody ./transcript:FuzzCannedBody \
	./transcript:FuzzWebhookBody ./transcript:FuzzTicketQuery ./transcript:FuzzTranscriptFormat

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg >/dev/null || \
		{ $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; exit 1; }; \
	done

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

# bench: the packages' micro-benchmarks (if any) and the ticket list route
# over HTTP among 100,000 tickets, then a short run of every
# chatbench scenario against two chatd nodes on a fresh PostgreSQL database
# and Redis db 8 (see BENCHMARKS.md). BENCH_ARGS replaces chatbench's short
# defaults; BENCH_DB=sqlite runs one node on the embedded defaults instead.
bench: build
	$(GO) build -o bin/chatbench ./cmd/chatbench
	$(GO) test -run '^$$' -bench . -benchmem ./chat/ ./store/ ./assign/
	$(GO) test -run '^$$' -bench BenchmarkListTicketsHTTP -benchtime 200x -benchmem ./cmd/chatd/
	cmd/chatbench/run.sh $(BENCH_ARGS)

clean:
	rm -rf bin data
