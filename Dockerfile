# One image for the worker, the CLI and the simulator.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY trunks trunks
COPY jobs jobs
COPY producer producer
COPY worker worker
COPY pbxsim pbxsim
COPY trunkctl trunkctl
RUN pip install --no-cache-dir . && useradd --create-home --uid 1000 trunkctl
USER trunkctl
CMD ["trunkctl", "--help"]
