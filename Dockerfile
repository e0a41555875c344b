FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=services.settings.production VAR_DIR=/app/var

WORKDIR /app
COPY requirements/base.lock requirements/base.lock
RUN pip install --require-hashes -r requirements/base.lock

COPY . .
RUN useradd --system --uid 10001 triage && mkdir -p /app/var && chown -R triage /app/var \
    && SECRET_KEY=collectstatic-only-$(head -c 40 /dev/urandom | base64 | tr -dc a-z0-9) \
       python manage.py collectstatic --noinput --verbosity 0
USER triage
EXPOSE 8000
CMD ["gunicorn", "services.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4"]
