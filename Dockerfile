FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY events ./events
COPY features ./features
COPY online_models ./online_models
COPY streams ./streams
RUN pip install --no-cache-dir .

# Configured only through SCORER_* variables; see the README's settings table.
ENV SCORER_WEB_HOST=0.0.0.0 \
    SCORER_WEB_PORT=6066 \
    SCORER_DATA_DIR=/var/lib/scorer
EXPOSE 6066
VOLUME /var/lib/scorer
ENTRYPOINT ["scorer"]
CMD ["worker"]
