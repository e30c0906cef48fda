# Loudou — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export DJANGO_SETTINGS_MODULE := config.settings

.PHONY: run test install messages messages-extract lint format check-migrations

# Re-install only when the requirements change.
$(BIN)/.installed: requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; try: make PYTHON=python3 ..."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

# Compiled translations are built, not committed.
messages: install
	$(BIN)/python manage.py compilemessages --ignore=.venv --verbosity 0

# After changing user-facing strings: refresh locale/zh_Hans, then translate what is new.
messages-extract: install
	$(BIN)/python manage.py makemessages -l zh_Hans --no-location --ignore=.venv --ignore=static --ignore=staticfiles --ignore=tests -v0

# The demo on the embedded default: SQLite, jobs in-process, http://127.0.0.1:8000.
# One scan and one dashboard build first, so alerts and figures exist before the server starts; then,
# in the background (no Redis needed) and stopped with the server, the scan repeats every SCAN_EVERY
# seconds, the dashboard folds in changes every minute and the bell's notifications and the reps' data-quality
# scores are written every SCAN_EVERY.
SCAN_EVERY ?= 900
run: messages
	DEBUG=true $(BIN)/python manage.py migrate --noinput
	DEBUG=true $(BIN)/python manage.py seed_demo
	DEBUG=true $(BIN)/python manage.py scan_funnel
	DEBUG=true $(BIN)/python manage.py refresh_dashboards
	DEBUG=true $(BIN)/python manage.py scan_funnel --every $(SCAN_EVERY) & scanner=$$!; \
	DEBUG=true $(BIN)/python manage.py refresh_dashboards --every 60 > /dev/null & refresher=$$!; \
	DEBUG=true $(BIN)/python manage.py send_notifications --every $(SCAN_EVERY) & notifier=$$!; \
	DEBUG=true $(BIN)/python manage.py refresh_quality_scores --every $(SCAN_EVERY) > /dev/null & scorer=$$!; \
	trap 'kill $$scanner $$refresher $$notifier $$scorer 2>/dev/null' EXIT INT TERM; \
	DEBUG=true $(BIN)/python manage.py runserver 127.0.0.1:8000

# The whole suite, browser journeys included (DATABASE_URL picks the database; SQLite by default).
test: messages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-migrations: install
	$(BIN)/python manage.py makemigrations --check --dry-run
