# Production image: gunicorn serving VaultCore; the same image runs the Celery worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN DEBUG=True python manage.py collectstatic --noinput \
    && useradd --system --uid 1001 vaultcore
USER vaultcore

EXPOSE 8000
# gunicorn.conf.py: stock sync workers, one per core plus one (GUNICORN_* variables override);
# run it behind a reverse proxy (deploy/nginx.conf).
CMD ["gunicorn", "vaultcore.wsgi:application"]
