# syntax=docker/dockerfile:1
# The axis as a container: `axis serve` on 0.0.0.0:8080, data under the /var/lib/axis volume.
# Build: docker build -t axis .    Run several nodes on one Redis: compose.yaml, docs/operations.md
#
# No system library is installed: the xmlsec 1.3.17 wheel (manylinux_2_28, x86_64) links
# libxmlsec1, libxml2 and OpenSSL statically (its .so needs only libc/libm), and lxml's wheel
# carries its own libxml2 too; python:3.11-slim-bookworm has glibc 2.36 >= 2.28. On a platform
# without such a wheel pip would build from source and need libxmlsec1-dev here.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# only what the package is built from (see .dockerignore): tests, benchmarks, docs stay out
COPY pyproject.toml README.md ./
COPY axis ./axis
COPY edxml ./edxml
COPY signing ./signing
COPY registry ./registry
COPY adapters ./adapters
RUN python -m venv /opt/axis \
 && /opt/axis/bin/pip install --upgrade pip \
 && /opt/axis/bin/pip install . \
 && /opt/axis/bin/python -c "import xmlsec, lxml.etree; print('xmlsec', xmlsec.get_libxmlsec_version(), 'libxml2', lxml.etree.LIBXML_VERSION)"

FROM ${PYTHON_IMAGE}
# a fixed uid/gid so a bind-mounted or pre-created volume can be chowned to it
RUN groupadd --system --gid 10001 axis \
 && useradd --system --uid 10001 --gid axis --home-dir /var/lib/axis --no-create-home \
      --shell /usr/sbin/nologin axis \
 && mkdir -p /var/lib/axis \
 && chown axis:axis /var/lib/axis
COPY --from=build /opt/axis /opt/axis
ENV PATH=/opt/axis/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AXIS_HOME=/var/lib/axis \
    AXIS_PORT=8080
USER axis
WORKDIR /var/lib/axis
VOLUME ["/var/lib/axis"]
EXPOSE 8080
# /v1/health answers 200 when the store and the registry answer, 503 otherwise (urlopen raises
# on 503, so the exit code is 1). Plain HTTP on AXIS_PORT: with --tls-cert, probe https instead.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('AXIS_PORT', '8080') + '/v1/health', timeout=4)"]
# SIGTERM (docker stop) drains in-flight requests for up to --shutdown-timeout (30 s): give the
# container a longer stop grace period (compose.yaml: stop_grace_period).
STOPSIGNAL SIGTERM
CMD ["axis", "serve", "--host", "0.0.0.0"]
