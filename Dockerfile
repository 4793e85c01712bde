FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY api api
COPY worker worker
COPY shared shared
COPY migrations migrations
RUN pip install --no-cache-dir .
ENV PORT=8000
EXPOSE 8000
# The Procfile's web process: PORT and WEB_CONCURRENCY from the environment; the access log
# (without credentials) comes from api/gunicorn_conf.py.
CMD ["sh", "-c", "exec gunicorn -c python:api.gunicorn_conf --bind 0.0.0.0:${PORT:-8000} --workers ${WEB_CONCURRENCY:-4} --worker-class gthread --threads ${WEB_THREADS:-2} api.wsgi:app"]
