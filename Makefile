# Minions — the two commands a newcomer needs are `make run` and `make test`.
# Both first install any missing Debian packages (apt-get; quiet when everything is present).

SWIFT        ?= swift
JOBS         ?= 2
RELEASE_FLAGS = -c release --static-swift-stdlib -j $(JOBS)
DEBUG_FLAGS   = -j $(JOBS)
BIN_RELEASE   = .build/release/minions
BIN_DEBUG     = .build/debug/minions
LISTEN       ?= 127.0.0.1:7411

# System libraries the engine links, and what the tests drive it with.
DEB_PACKAGES = libsqlite3-dev libcurl4-openssl-dev libssl-dev libcrypt-dev python3 python3-venv
# What only the tests need: the Neovim plugin's headless test and the dashboard's browser test.
TEST_DEB_PACKAGES = neovim chromium chromium-driver

.PHONY: run test test-deps install-missing test-python test-clients bench bench-peers serve dashboard clean deps build build-release

## run: install what is missing, build, and run the engine's main job on its embedded defaults: a chat
## with the agents on a terminal (`minions chat`), or a scripted tour of the protocol when none is attached
run: deps build-release
	@if [ -t 0 ] && [ -t 1 ]; then $(BIN_RELEASE) chat; else sh clients/shell/tour.sh $(BIN_RELEASE); fi

TEST_VENV = .build/test-venv
# What the interop and protocol tests drive the engine with (from PyPI); mcp-server-time is the
# reference MCP server the MCP client tests use.
TEST_PYTHON_PACKAGES = pyjwt bcrypt mcp mcp-server-time agent-client-protocol selenium

## test: install what is missing, build, and run every test (the engine's, then the clients')
test: deps test-deps test-python
	$(SWIFT) build $(DEBUG_FLAGS) --build-tests
	MINIONS_BIN=$(CURDIR)/$(BIN_DEBUG) MINIONS_TEST_PYTHON=$(CURDIR)/$(TEST_VENV)/bin/python \
	  $(SWIFT) test $(DEBUG_FLAGS) --skip-build
	@$(MAKE) --no-print-directory test-clients

# The thin clients against the debug engine: the Python client (stdlib unittest, with Debian's
# python3) and the Neovim plugin (headless nvim).
test-clients:
	cd clients/python && MINIONS_BIN=$(CURDIR)/$(BIN_DEBUG) python3 -m unittest discover -s tests
	MINIONS_BIN=$(CURDIR)/$(BIN_DEBUG) sh clients/nvim/test/run.sh
	MINIONS_BIN=$(CURDIR)/$(BIN_DEBUG) MINIONS_WEB_VENV=$(CURDIR)/$(TEST_VENV) sh clients/web/test/run.sh

# A venv under .build/ with the Python packages the tests use; installed once, then reused.
test-python:
	@[ -x $(TEST_VENV)/bin/python ] || python3 -m venv $(TEST_VENV)
	@$(TEST_VENV)/bin/python -c "import jwt, bcrypt, mcp, mcp_server_time, acp, selenium" 2>/dev/null || \
	  $(TEST_VENV)/bin/pip install -q --disable-pip-version-check $(TEST_PYTHON_PACKAGES)

BENCH_VENV = .build/bench-venv
BENCH_PEERS = pygls pyjwt cachetools

## bench: build in release and print the benchmark table (with peers such as pygls in the same run)
bench: deps build-release bench-peers
	MINIONS_BIN=$(CURDIR)/$(BIN_RELEASE) PEER_PYTHON=$(CURDIR)/$(BENCH_VENV)/bin/python .build/release/MinionsBench

# The peers are Python packages from PyPI, in a venv under .build/ (skipped with a note when offline).
bench-peers:
	@[ -x $(BENCH_VENV)/bin/python ] || python3 -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -c "import pygls, jwt, cachetools" 2>/dev/null || \
	  $(BENCH_VENV)/bin/pip install -q $(BENCH_PEERS) || echo "bench: could not install $(BENCH_PEERS); peers skipped"

## serve: run the engine as a TCP server on $(LISTEN)
serve: deps build-release
	$(BIN_RELEASE) serve --listen $(LISTEN)

HTTP ?= 127.0.0.1:7412

## dashboard: build, make an admin user if there is none (its password printed once), and serve the
## web dashboard on $(HTTP)
dashboard: deps build-release
	@if ! $(BIN_RELEASE) users list 2>/dev/null | grep -q '^admin '; then \
	  pw=$$(head -c 18 /dev/urandom | base64 | tr -d '/+='); \
	  echo "$$pw" | $(BIN_RELEASE) users add admin --role admin --password-stdin >/dev/null && \
	  echo "made the user 'admin' with the password: $$pw  (change it on the Security page)"; \
	fi
	@echo "dashboard: http://$(HTTP)/  — log in as admin (or any user made with 'minions users add')"
	$(BIN_RELEASE) serve --http $(HTTP)

build: deps
	$(SWIFT) build $(DEBUG_FLAGS)

build-release: deps
	$(SWIFT) build $(RELEASE_FLAGS)

clean:
	rm -rf .build

# Installs missing packages only; idempotent and silent when nothing is missing.
deps:
	@$(MAKE) --no-print-directory install-missing PACKAGES="$(DEB_PACKAGES)"
	@command -v $(SWIFT) >/dev/null 2>&1 || { echo "swift not found: install the Swift 6 toolchain (https://swift.org/install)"; exit 1; }

test-deps:
	@$(MAKE) --no-print-directory install-missing PACKAGES="$(TEST_DEB_PACKAGES)"

install-missing:
	@missing=""; \
	for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -q >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing >/dev/null || \
	  { echo "could not install:$$missing (run as root or with sudo)"; exit 1; }; \
	fi
