# One image for every service: the worker, the HTTP API, the CLI and the simulator.
FROM python:3.11-slim
WORKDIR /app
# Dependencies first, from the lock file (exact versions, hashes checked): cached across code edits.
COPY requirements/main.txt requirements/main.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/main.txt
COPY pyproject.toml README.md ./
COPY core core
COPY celery_ext celery_ext
COPY trunks trunks
COPY jobs jobs
COPY producer producer
COPY worker worker
COPY rollout rollout
COPY pbxsim pbxsim
COPY api api
COPY trunkctl trunkctl
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
    && useradd --create-home --uid 1000 trunkctl
USER trunkctl
CMD ["trunkctl", "--help"]
