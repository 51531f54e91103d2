# Two commands set everything up on a fresh machine with nothing but Python 3.11+:
#   make repro   create .venv, install pinned requirements, run the pipeline (dvc repro)
#   make test    create .venv, install pinned requirements, run the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PLOTS := .dvc/plots
SERVICE_URL ?= http://127.0.0.1:8000

.PHONY: setup repro test bench serve smoke s3-up s3-down remote-from-env clean

setup: $(VENV)/.installed $(PLOTS)/page.html

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	touch $@

# The `dvc plots show` page with Vega inlined (pinned npm packages), so plots render
# offline; set in .dvc/config.local only once written. Without npm, DVC's CDN page stays.
$(PLOTS)/page.html: $(VENV)/.installed $(PLOTS)/package-lock.json src/lifecycle/review/plots_page.py
	if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix $(PLOTS) --no-audit --no-fund --loglevel=error || echo "npm ci failed: plots will load Vega from its CDN"; \
	else echo "npm not found: plots will load Vega from its CDN"; fi
	$(BIN)/python -m lifecycle.review.plots_page $(PLOTS)/node_modules $@
	$(BIN)/dvc config --local plots.html_template plots/page.html

repro: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro

test: setup  # on every core (pytest-xdist); a file's tests share a worker
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -n auto --dist loadfile

bench: setup
	$(BIN)/python bench/pipeline.py

serve: setup  # the HTTP service on 127.0.0.1 (params.yaml `serve`), for models/package
	$(BIN)/python -m lifecycle serve

smoke: setup  # the service at $(SERVICE_URL) serves models/package and answers as it does (exit 2-5: which check failed)
	$(BIN)/python -m lifecycle smoke --url $(SERVICE_URL)

s3-up: setup  # SeaweedFS's S3 server on 127.0.0.1:8333 (data in .s3/) for the DVC remote `storage`
	$(BIN)/python -m lifecycle remote start

s3-down:  # stops the server s3-up started from this clone (its data stays in .s3/)
	$(BIN)/python -m lifecycle remote stop

remote-from-env:  # CI (after installing): point the remote `storage` at $DVC_REMOTE_URL / $DVC_REMOTE_ENDPOINT when set
	if [ -n "$$DVC_REMOTE_URL" ]; then $(BIN)/dvc remote modify --local storage url "$$DVC_REMOTE_URL"; fi
	if [ -n "$$DVC_REMOTE_ENDPOINT" ]; then $(BIN)/dvc remote modify --local storage endpointurl "$$DVC_REMOTE_ENDPOINT"; fi

clean:
	rm -rf $(VENV)
