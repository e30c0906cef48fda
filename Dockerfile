# Production image: gunicorn serving Django; the same image runs the Celery worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libpq-dev gettext \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN python manage.py compilemessages --ignore=.venv -v0 \
 && STATIC_MANIFEST=true python manage.py collectstatic --noinput -v0

RUN useradd --create-home loudou
USER loudou
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "5", "--worker-class", "gthread", "--threads", "4", "--timeout", "20", "--access-logfile", "-"]
