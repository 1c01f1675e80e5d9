# The search service with the sample corpus indexed at build time.
# Build: docker build -t school-plans .    Run: docker run -p 8000:8000 -v plans:/var/lib/plans school-plans
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MALLOC_ARENA_MAX=2 \
    PLANS_HOME=/var/lib/plans

RUN groupadd --system --gid 10001 plans \
    && useradd --system --uid 10001 --gid plans --home-dir /opt/plans --shell /usr/sbin/nologin plans \
    && mkdir -p /var/lib/plans && chown plans:plans /var/lib/plans

WORKDIR /opt/plans
# Dependencies come from the project's own metadata; data/ stays beside the packages.
COPY pyproject.toml README.md ./
COPY indexer ./indexer
COPY app ./app
COPY data ./data
RUN pip install --editable . && chown -R plans:plans /opt/plans

USER plans
# Build the sample index now, so the first start serves at once (the volume keeps later changes).
RUN plans index --no-progress
VOLUME ["/var/lib/plans"]

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["plans", "serve", "--host", "0.0.0.0", "--port", "8000"]
