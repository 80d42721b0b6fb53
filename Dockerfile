# studybot: a slim image, a non-root user, the database on a volume at /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    STUDYBOT_DB=/data/studybot.db \
    STUDYBOT_HTTP_PORT=8080

WORKDIR /app
COPY pyproject.toml README.md questions.yaml ./
COPY bot ./bot
COPY adapters ./adapters
RUN pip install . && useradd --create-home --uid 10001 studybot && mkdir -p /data && chown studybot /data

USER studybot
VOLUME ["/data"]
EXPOSE 3000 8080

# /healthz answers on Slack's PORT when the Slack HTTP server runs, otherwise on STUDYBOT_HTTP_PORT.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; port = os.environ.get('SLACK_SIGNING_SECRET') and not os.environ.get('SLACK_APP_TOKEN') and os.environ.get('PORT', '3000') or os.environ.get('STUDYBOT_HTTP_PORT', '8080'); urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"

CMD ["studybot", "run"]
