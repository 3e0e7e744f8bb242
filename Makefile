# One command to run the CRM, one to test it. Everything lives in .venv; nothing is installed globally.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
# pytest-xdist processes for `make test` (auto: one per core; 0: none, in this process, for --pdb and the like).
TEST_WORKERS ?= auto
STAMP  := $(VENV)/.installed

.PHONY: run test bench load prod install messages lint backup restore clean

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; run: make PYTHON=python3 ..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when the requirement files change.
$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

run: install
	@if command -v msgfmt >/dev/null; then $(PY) manage.py compilemessages --ignore=.venv -v 0; fi  # the .mo is committed too
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py seed_demo
	@echo "Serving the CRM on http://127.0.0.1:$(PORT)/"
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: install
	@if command -v msgfmt >/dev/null; then $(PY) manage.py compilemessages --ignore=.venv -v 0; fi  # the .mo is committed too
	$(PY) manage.py makemigrations --check --dry-run -v 0
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports  # the layers in pyproject.toml
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# Production mode on this machine: PostgreSQL, Redis, DEBUG off, collected static files, gunicorn workers.
prod: install
	@if command -v msgfmt >/dev/null; then $(PY) manage.py compilemessages --ignore=.venv -v 0; fi  # the .mo is committed too
	PORT=$(PORT) $(PY) -m config.prod

bench: install
	@if command -v msgfmt >/dev/null; then $(PY) manage.py compilemessages --ignore=.venv -v 0; fi  # the .mo is committed too
	$(PY) -m bench $(BENCH_ARGS)

# Locust against the `make prod` stack on PostgreSQL: LOAD_CUSTOMERS=20000 for a smaller table (README, Load).
# Locust lives in a venv of its own: its dependencies (brotli) would change how the CRM's static files are built.
LOAD_VENV := .venv-load
load: install
	@test -x $(LOAD_VENV)/bin/locust || { $(PYTHON) -m venv $(LOAD_VENV) && $(LOAD_VENV)/bin/pip install --quiet -r bench/load/requirements.txt; }
	LOCUST=$(LOAD_VENV)/bin/locust $(PY) -m bench.load.run

messages: install
	$(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=tests --ignore=bench --no-obsolete
	$(PY) manage.py compilemessages --ignore=.venv

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

# One file with the database and the private uploads, under var/backups/ (see README, Backups).
backup: install
	$(PY) manage.py backup

# Into an empty database only; the backup is verified before anything is written.
restore: install
	@test -n "$(FILE)" || { echo "Name the backup: make restore FILE=var/backups/crm-<timestamp>.tar"; exit 1; }
	$(PY) manage.py restore "$(FILE)"

# Everything generated, but the backups.
clean:
	rm -rf $(VENV) $(LOAD_VENV) test-artifacts .pytest_cache staticfiles
	@if [ -d var ]; then find var -mindepth 1 -maxdepth 1 ! -name backups -exec rm -rf {} +; fi
