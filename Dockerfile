# The scorer's image: `scorer worker` by default; `scorer topics create`, `scorer simulate`
# and the other commands with another command line (see docker-compose.yml).
FROM python:3.11-slim-bookworm

WORKDIR /app
COPY pyproject.toml README.md ./
COPY scorer ./scorer
RUN pip install --no-cache-dir .

# Run as an unprivileged user that owns the state directory (RocksDB tables).
RUN useradd --system --uid 10001 --no-create-home --home-dir /var/lib/scorer scorer \
    && mkdir -p /var/lib/scorer \
    && chown scorer:scorer /var/lib/scorer
USER scorer

# Configured only through SCORER_* variables; see the README's settings table.
# Inside a container the web server must listen on every interface, or
# Prometheus, in another container, cannot scrape /metrics.
ENV SCORER_WEB_HOST=0.0.0.0 \
    SCORER_WEB_PORT=6066 \
    SCORER_DATA_DIR=/var/lib/scorer
EXPOSE 6066
VOLUME /var/lib/scorer
ENTRYPOINT ["scorer"]
CMD ["worker"]
