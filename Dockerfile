# commerce-mcp over streamable HTTP. Build: docker build -t commerce-mcp .
# Run:   docker run -p 8000:8000 \
#          -e COMMERCE_MCP_ENCRYPTION_KEY=... -v commerce-state:/data commerce-mcp
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 commerce && mkdir /data && chown commerce /data
COPY --from=build /install /usr/local
USER commerce
ENV COMMERCE_MCP_STATE_DIR=/data \
    COMMERCE_MCP_TRANSPORT=http \
    COMMERCE_MCP_HTTP_HOST=0.0.0.0 \
    COMMERCE_MCP_HTTP_PORT=8000 \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"
ENTRYPOINT ["commerce-mcp", "serve", "--transport", "http"]
