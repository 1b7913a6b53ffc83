# fetchall: docker run --rm -i fetchall - < urls.txt > results.jsonl
ARG PYTHON_VERSION=3.12

# --- build: install fetchall and its dependencies into a virtual environment ---
FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/fetchall
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN /opt/fetchall/bin/pip install . \
    && /opt/fetchall/bin/pip uninstall --yes pip

# --- runtime: the virtual environment only, run as a non-root user ---
FROM python:${PYTHON_VERSION}-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="fetchall" \
      org.opencontainers.image.description="Fetch every URL in a list, concurrently, with one result record per line." \
      org.opencontainers.image.source="https://github.com/fetchall/fetchall" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/opt/fetchall/bin:${PATH}"
RUN useradd --system --uid 10001 --user-group --home-dir /data --create-home \
        --shell /usr/sbin/nologin fetchall
COPY --from=build /opt/fetchall /opt/fetchall
USER 10001:10001
WORKDIR /data
ENTRYPOINT ["fetchall"]
