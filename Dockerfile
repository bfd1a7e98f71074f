# One image for every Vigil service; the command picks the service:
#   docker run IMAGE ingest | enrich | judge | sink --no-api | analyze | notify | api
#   docker run --entrypoint streamlit IMAGE run /app/dashboards/Home.py   (the dashboard)
# Build: docker build -t vigil:0.1.0 .   (k8s/ runs it read-only as UID 10001)

FROM python:3.11-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
WORKDIR /src
# The package only: what the wheel is built from (pyproject.toml names README.md), and
# sdk/, the vigil-sdk distribution it depends on (the generated vigil_protos).
COPY pyproject.toml README.md ./
COPY sdk ./sdk
COPY services ./services
COPY schemas ./schemas
RUN /opt/venv/bin/pip install --no-compile .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    VIGIL_DATA_DIR=/var/lib/vigil
RUN groupadd --system --gid 10001 vigil \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin vigil \
 && mkdir -p /var/lib/vigil \
 && chown 10001:10001 /var/lib/vigil
COPY --from=builder /opt/venv /opt/venv
COPY dashboards /app/dashboards
# Working directory = writable state (faust keeps its data directory in the cwd).
WORKDIR /var/lib/vigil
USER 10001:10001
EXPOSE 50051 4318 8700 8501 9464
ENTRYPOINT ["vigil"]
CMD ["--help"]
