# The v2g service image (also runs the fleet simulator: `v2g simulate`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY fleet ./fleet
COPY dispatch ./dispatch
COPY allocation ./allocation
COPY scheduling ./scheduling
COPY solvers ./solvers
COPY eventbus ./eventbus
COPY metrics ./metrics
COPY v2g ./v2g
COPY examples ./examples
RUN pip install . && useradd --system --no-create-home v2g

USER v2g
EXPOSE 8080
CMD ["v2g", "serve"]
