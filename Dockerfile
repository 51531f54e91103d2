# The model service: `python -m lifecycle serve` for the bundle in models/package, which the
# serve command verifies against its manifest's SHA-256 before it binds the port (a changed
# or missing file stops the container with one line naming it). Build where the bundle is
# checked out (`dvc pull models/package`); .github/workflows/deploy.yml builds, runs and
# smoke-tests it on every `prod` tag:
#   docker build -t lifecycle-serve . && docker run -p 127.0.0.1:8000:8000 lifecycle-serve
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 lifecycle
WORKDIR /app

# The pinned requirements (constraints.txt pins every transitive one) in a layer of their own,
# rebuilt only when a pin changes.
COPY requirements.txt constraints.txt ./
RUN pip install -r requirements.txt

COPY pyproject.toml README.md ./
COPY src/ src/
RUN pip install --no-deps .

# The settings (params.yaml `serve`) and the bundle, read-only for the service's user; it
# writes only its prediction log (serve.log.url: logs/predictions.sqlite).
COPY params.yaml ./
COPY models/package/ models/package/
RUN mkdir logs && chown lifecycle logs

USER lifecycle
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=4)"]
CMD ["python", "-m", "lifecycle", "serve", "--host", "0.0.0.0"]
