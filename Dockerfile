# studybot: a slim image, a non-root user (uid 10001), the database on a volume at /data.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    STUDYBOT_DB=/data/studybot.db \
    STUDYBOT_HTTP_PORT=8080

WORKDIR /app
COPY pyproject.toml README.md questions.yaml ./
COPY bot ./bot
COPY adapters ./adapters
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 studybot \
    && mkdir -p /data && chown 10001:10001 /data

USER 10001
# The working directory is the volume: even an empty STUDYBOT_DB (the default ./studybot.db) lands on /data.
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000 8080

# /healthz answers on Slack's PORT when the Slack HTTP server runs, otherwise on STUDYBOT_HTTP_PORT.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; e = os.environ.get; slack_http = (e('SLACK_BOT_TOKEN') or e('SLACK_CLIENT_ID')) and e('SLACK_SIGNING_SECRET') and not e('SLACK_APP_TOKEN'); port = (e('PORT') or '3000') if slack_http else (e('STUDYBOT_HTTP_PORT') or '8080'); urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]

CMD ["studybot", "run"]
