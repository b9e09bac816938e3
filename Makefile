# Two commands on a fresh clone: `make run` (demo on SQLite, jobs in-process) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1:8000

.PHONY: install run demo test lint format migrations-check messages ci clean

install: $(VENV)/.installed

# One venv for running, testing and linting: requirements-dev.txt includes the runtime pins.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# Demo: SQLite file db.sqlite3, Celery eager (no Redis), DEBUG on with the development key.
demo: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py load_demo

run: demo
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST)

# The whole suite. Uses DATABASE_URL / REDIS_URL when set (CI: PostgreSQL and Redis),
# otherwise SQLite and in-process jobs.
test: install
	$(BIN)/pytest

# ruff, then the import layers (pyproject.toml [tool.importlinter]).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrations-check: install
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

# Refresh the Chinese catalogue after changing user-visible strings (needs gettext).
messages: install
	DEBUG=1 $(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=static
	DEBUG=1 $(BIN)/python manage.py compilemessages -l zh_Hans --ignore=.venv

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles media
