# The service in a container: the archives built at image build time by `make archive`, TorchServe
# run by `make run` (in the foreground, logs on stdout) as a non-root user, with this project's
# config.properties; the same image runs the gateway (`make gateway`, README: Deploying).
#   docker build -t genai-torchserve .                                  # CPU (the default)
#   docker build --build-arg BASE_IMAGE=<a CUDA runtime image with Python 3.11 and venv> -t genai-torchserve:cuda .
# The torch wheel carries its own CUDA libraries; a CUDA base adds the rest of the runtime for a GPU
# node (workers then get gpu_id from TorchServe). Every command below is a make target, so the
# image cannot drift from the Makefile.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

# Java 17 for TorchServe's frontend, make for the targets, tini to pass signals to the process group.
# Debian's package versions move with its security updates: they are not pinned.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless make tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 torchserve

WORKDIR /srv/genai
COPY --chown=torchserve:torchserve . .
USER 10001
RUN make archive PYTHON=python3.11

# TorchServe listens on loopback only (config.properties); the gateway, on 8443, is the way in.
EXPOSE 8443
HEALTHCHECK --interval=30s --timeout=20s --start-period=300s --retries=3 CMD ["make", "-s", "ready"]
ENTRYPOINT ["tini", "-g", "--"]
CMD ["make", "run"]
