"""The Open API's error codes and the JSON answers built from them."""

from __future__ import annotations

from typing import Any

Answer = dict[str, Any]

SUCCESS = 0
FAILURE = -1
INTERNAL_SERVER_ERROR = -2
PARTIAL_SUCCESS = 1
PROCESSING = 2
INTERFACE_NOT_EXISTED = 10001
TOKEN_EXPIRED = 10004
ACCESS_DENIED = 10005
OPERATION_FAILED = 10009
PARAMETER_SYNTAX_ERROR = 40001
PARAMETER_ERROR = 40002
DUPLICATE_KEY_VALUE = 40003
DATA_NOT_FOUND = 60001
MAX_LIMITATION_EXCEEDED = 60002
ACCOUNT_IP_BLOCKED = 70004
OVERLOAD_TASK_RUNNING = 70082
ACTION_FORBIDDEN = 70084
IP_FORBIDDEN = 70087
# "The item has relation connection with other existing items": a trunk an outbound route uses.
CONNECTION_RELATION_EXISTED = 70091

# The texts mix spaces and underscores exactly as the PBX does; clients must dispatch on errcode.
ERRMSG: dict[int, str] = {
    SUCCESS: "SUCCESS",
    FAILURE: "FAILURE",
    INTERNAL_SERVER_ERROR: "INTERNAL SERVER ERROR",
    PARTIAL_SUCCESS: "PARTIAL SUCCESS",
    PROCESSING: "PROCESSING",
    INTERFACE_NOT_EXISTED: "INTERFACE NOT EXISTED",
    TOKEN_EXPIRED: "TOKEN EXPIRED",
    ACCESS_DENIED: "ACCESS DENIED",
    OPERATION_FAILED: "OPERATION FAILED",
    PARAMETER_SYNTAX_ERROR: "PARAMETER SYNTAX ERROR",
    PARAMETER_ERROR: "PARAMETER ERROR",
    DUPLICATE_KEY_VALUE: "DUPLICATE KEY VALUE",
    DATA_NOT_FOUND: "DATA NOT FOUND",
    MAX_LIMITATION_EXCEEDED: "MAX LIMITATION EXCEEDED",
    ACCOUNT_IP_BLOCKED: "ACCOUNT IP BLOCKED",
    OVERLOAD_TASK_RUNNING: "OVERLOAD_TASK_RUNNING",
    ACTION_FORBIDDEN: "ACTION FORBIDDEN",
    IP_FORBIDDEN: "IP FORBIDDEN",
    CONNECTION_RELATION_EXISTED: "CONNECTION_RELATION_EXISTED",
}


def answer(errcode: int, **extra: Any) -> Answer:
    """The JSON answer for an errcode, with any extra keys after errcode and errmsg."""
    return {"errcode": errcode, "errmsg": ERRMSG[errcode], **extra}


def success(**extra: Any) -> Answer:
    """A SUCCESS answer carrying the given keys."""
    return answer(SUCCESS, **extra)


def param_problem(field: str, value: str, validation_type: str) -> dict[str, str]:
    """One entry of an `invalid_param_list`."""
    return {"field": field, "value": value, "validation_type": validation_type}


def param_error(problems: list[dict[str, str]]) -> Answer:
    """A 40002 answer carrying its `invalid_param_list`."""
    return answer(PARAMETER_ERROR, invalid_param_list=problems)
