# okta-sso-operator. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

BIN            := $(CURDIR)/bin
CONTROLLER_GEN := $(BIN)/controller-gen
HELM           := $(BIN)/helm
# The operator's version is the chart's appVersion; the build stamps it.
VERSION        ?= $(shell sed -n 's/^appVersion: *"*\([^"]*\)"*/\1/p' charts/okta-sso-operator/Chart.yaml)
LDFLAGS        := -s -w -X main.version=$(VERSION)
GO_TEST_FLAGS  ?= -count=1 -timeout 30m

##@ Main

.PHONY: demo
demo: build ## Show the operator working on a local control plane (nothing is left running; KEEP=1 keeps it all running until Ctrl-C).
	KEEP=$(KEEP) hack/demo.sh

.PHONY: test
test: verify envtest ## Set up and run every test: verify, unit, envtest suites, chart, end to end.
	hack/test-deps.sh
	hack/tools.sh helm
	REQUIRE_XMLLINT=1 REQUIRE_CHROMIUM=1 HELM="$(HELM)" KUBECTL="$$(hack/kubectl.sh)" KUBEBUILDER_ASSETS="$$(hack/envtest.sh)" go test $(GO_TEST_FLAGS) ./...
	FUZZTIME=3s hack/fuzz.sh

.PHONY: screenshots
screenshots: envtest ## Take docs/images' screenshots of the sign-in flows, in headless Chromium (the browser suite; not part of make test).
	hack/test-deps.sh
	BROWSER_SCREENSHOTS="$(CURDIR)/docs/images" REQUIRE_CHROMIUM=1 KUBEBUILDER_ASSETS="$$(hack/envtest.sh)" go test ./test/browser/ -count=1 -timeout 15m

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 5s; make test runs 3s).
	hack/fuzz.sh

.PHONY: bench
bench: envtest ## Run the profiles (calls per operation, time to Ready, memory, AccountSync at scale) for docs/performance.md; not part of make test.
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh)" go test ./test/bench/ -run '^$$' -bench . -benchtime 1x -timeout 120m -v

.PHONY: soak
soak: envtest ## The full soak (300 apps, 300 bindings, 50 syncs, faults, 10 SIGKILLs, then delete; about 6 min); make test runs a small one. docs/reliability.md.
	SOAK_APPS=$${SOAK_APPS:-300} SOAK_SYNCS=$${SOAK_SYNCS:-50} SOAK_KILLS=$${SOAK_KILLS:-10} KUBECTL="$$(hack/kubectl.sh)" KUBEBUILDER_ASSETS="$$(hack/envtest.sh)" \
		go test ./test/e2e/ -count=1 -timeout 90m -args -ginkgo.label-filter=soak

##@ Development

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

.PHONY: generate
generate: tools ## Generate deepcopy code, CRDs, RBAC and docs/api-reference.md.
	$(CONTROLLER_GEN) object paths="./api/..."
	$(CONTROLLER_GEN) crd rbac:roleName=manager-role paths="./..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	hack/chart-sync.sh
	hack/argocd-sync.sh
	go run ./hack/apidocs --crds config/crd/bases --out docs/api-reference.md

.PHONY: verify
verify: tools ## Regenerate everything; fail on a stale generated file, gofmt or vet finding.
	hack/verify.sh

.PHONY: build
build: ## Build the manager binary into bin/.
	go build -ldflags "$(LDFLAGS)" -o $(BIN)/manager ./cmd/manager

# IMAGE is the image's name; make image writes it as a tarball
# (docker load, podman load and crane push read it) with no Docker engine.
IMAGE          ?= okta-sso-operator

.PHONY: image
image: ## Build the container image into bin/okta-sso-operator-image.tar, no Docker engine needed.
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/manager-linux-amd64 ./cmd/manager
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags "-s -w" -o $(BIN)/okta-emulator-linux-amd64 ./cmd/okta-emulator
	go run ./hack/image --binary $(BIN)/manager-linux-amd64 --emulator $(BIN)/okta-emulator-linux-amd64 --out $(BIN)/okta-sso-operator-image.tar \
		--tag $(IMAGE):$(VERSION) --version $(VERSION) --revision "$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

.PHONY: tools
tools: ## Install the pinned tools into bin/.
	hack/tools.sh controller-gen

.PHONY: envtest
envtest: ## Get kube-apiserver and etcd for envtest (download or build); prints where.
	@hack/envtest.sh >/dev/null
