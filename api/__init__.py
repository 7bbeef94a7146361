"""`trunkctl serve`: the HTTP API and the status page, on the job store the CLI uses."""

from api.announce import serving_url

__all__ = ["serving_url"]
