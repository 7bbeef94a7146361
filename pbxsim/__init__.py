"""A simulator of the Yeastar P-Series Open API: many PBXs served from one aiohttp process."""

from pbxsim.faults import PRESETS, FaultRule
from pbxsim.settings import SimSettings
from pbxsim.testing import AsyncSimulator, ManualClock, SimulatorThread

__all__ = [
    "PRESETS",
    "AsyncSimulator",
    "FaultRule",
    "ManualClock",
    "SimSettings",
    "SimulatorThread",
]
