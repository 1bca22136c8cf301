# Two commands from a fresh clone:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup tools kafka demo test clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/.installed

# A real Prometheus server and promtool for the scrape and config tests (Debian's package).
tools:
	@if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then \
		echo "installing Debian's prometheus package (server and promtool) for the tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
	fi

# The pinned Apache Kafka broker (deploy/kafka/pom.xml) for the real-broker tests: Java 17+ and
# Maven (installed from Debian's packages if missing); cached in ~/.cache/scorer and ~/.m2.
kafka: setup
	@command -v mvn >/dev/null || { echo "installing Debian's maven package for the Kafka broker"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends maven >/dev/null; }
	$(BIN)/python -m scorer.tools.apache_kafka install

demo: setup
	$(BIN)/scorer demo

test: setup tools kafka
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .scorer-data .pytest_cache .hypothesis
