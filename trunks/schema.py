"""Pydantic models of Yeastar's `trunk/create` request: the seed's tables 1-11.

Each model validates a JSON body strictly (integers are JSON integers, unknown or foreign fields
are errors) and `request_body()` gives back exactly the body the API expects: fields in the seed's
order, absent ones omitted, `codec_sel` as one comma-joined string.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    TypeAdapter,
    field_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from trunks.text import quoted

TRUNK_TYPES = ("register", "peer", "account")
NAME_MAX_LENGTH = 63
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")

# The seed lists the same codecs for register and account trunks; peer trunks lack mpeg4.
REGISTER_CODECS = (
    "ulaw", "alaw", "g729", "gsm", "h264", "h263", "h263p", "ilbc",
    "g722", "g726", "speex", "adpcm", "mpeg4", "vp8", "opus",
)  # fmt: skip
PEER_CODECS = tuple(codec for codec in REGISTER_CODECS if codec != "mpeg4")
ACCOUNT_CODECS = REGISTER_CODECS
CODECS_BY_TYPE = {"register": REGISTER_CODECS, "peer": PEER_CODECS, "account": ACCOUNT_CODECS}

REGISTER_PASSWORD_MIN_LENGTH = 10
# The integer fields' ranges (a cell is read as an integer only when its digits can fit).
PORT_RANGE = (1, 65535)
FLAG_RANGE = (0, 1)


def article(trunk_type: str) -> str:
    """The trunk type with its indefinite article: "a peer", "an account"."""
    return f"an {trunk_type}" if trunk_type[:1] in "aeiou" else f"a {trunk_type}"


def _check_name(value: str) -> str:
    if len(value) > NAME_MAX_LENGTH:
        raise PydanticCustomError(
            "trunk_name", "must be at most {max} characters", {"max": NAME_MAX_LENGTH}
        )
    if not _NAME_RE.fullmatch(value):
        raise PydanticCustomError(
            "trunk_name",
            "may contain only letters, digits, '_', '-' and '.' (no spaces), got {value}",
            {"value": quoted(value)},
        )
    return value


def _codec_checker(trunk_type: str) -> Callable[[str], str]:
    allowed = CODECS_BY_TYPE[trunk_type]
    allowed_set = frozenset(allowed)

    def check(value: str) -> str:
        codecs = [codec.strip() for codec in value.split(",")]
        if allowed_set.issuperset(codecs) and len(set(codecs)) == len(codecs):
            return ",".join(codecs)  # the common case, checked in one pass
        if any(not codec for codec in codecs):
            raise PydanticCustomError("codec_sel", "has an empty codec between commas")
        unknown = [codec for codec in codecs if codec not in allowed]
        repeated = sorted({codec for codec in codecs if codecs.count(codec) > 1})
        problems = []
        if unknown:
            problems.append(
                f"{', '.join(map(quoted, unknown))} not valid for {article(trunk_type)} trunk "
                f"(valid: {', '.join(allowed)})"
            )
        if repeated:
            problems.append(f"lists {', '.join(map(quoted, repeated))} more than once")
        if problems:
            raise PydanticCustomError("codec_sel", "; ".join(problems))
        return ",".join(codecs)

    return check


# ASCII classes, as the PBX checks them: str.isdigit would take an Arabic-Indic or a
# superscript digit for one.
_PASSWORD_CLASSES: tuple[tuple[str, frozenset[str]], ...] = (
    ("a digit", frozenset(string.digits)),
    ("an upper-case letter", frozenset(string.ascii_uppercase)),
    ("a lower-case letter", frozenset(string.ascii_lowercase)),
)


def _check_register_password(value: SecretStr) -> SecretStr:
    # The message never quotes the password: validation errors end up in reports and logs.
    secret = value.get_secret_value()
    missing = [label for label, chars in _PASSWORD_CLASSES if chars.isdisjoint(secret)]
    if len(secret) < REGISTER_PASSWORD_MIN_LENGTH or missing:
        raise PydanticCustomError(
            "register_password",
            "must be at least {min} characters with a digit, an upper-case and a lower-case "
            "letter{lacking}",
            {
                "min": REGISTER_PASSWORD_MIN_LENGTH,
                "lacking": f" (lacks {', '.join(missing)})" if missing else "",
            },
        )
    return value


def _check_secret_present(value: SecretStr) -> SecretStr:
    if not value.get_secret_value():
        raise PydanticCustomError("string_too_short", "must not be empty")
    return value


def _check_not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be blank")
    return value


Text = Annotated[str, StringConstraints(min_length=1)]
# Cells are trimmed (a cell of spaces is "not sent"), but the values inside JSON cells are not.
NestedText = Annotated[str, StringConstraints(min_length=1), AfterValidator(_check_not_blank)]
TrunkName = Annotated[str, StringConstraints(min_length=1), AfterValidator(_check_name)]
Port = Annotated[int, Field(ge=PORT_RANGE[0], le=PORT_RANGE[1])]
Flag = Annotated[int, Field(ge=FLAG_RANGE[0], le=FLAG_RANGE[1])]
NonEmptySecret = Annotated[SecretStr, AfterValidator(_check_secret_present)]
Password = NonEmptySecret
RegisterPassword = Annotated[Password, AfterValidator(_check_register_password)]


class _Model(BaseModel):
    # strict: the body is what the API gets, so "5060" is not a port; hide_input_in_errors: a
    # ValidationError must never carry a password into a log line.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, hide_input_in_errors=True)

    def request_body(self) -> dict[str, Any]:
        """The JSON body of this object as the API expects it, absent fields omitted."""
        return self.model_dump(mode="json", exclude_none=True)


class ExtensionInfo(_Model):
    """Extension_Info (tables 3, 7, 11)."""

    type: Literal["extension", "ext_group"] | None = None
    ext_number: str | None = None
    ext_name: str | None = None
    id: int


class OutCallerInfo(_Model):
    """OutCaller_Info (tables 2, 6, 10)."""

    outbound_cid_option: Literal["range", "shared"]
    outbound_cid: NestedText
    outbound_cid_name: str | None = None
    outbound_cid_to_ext_range: str | None = None
    ext_list: list[ExtensionInfo] | None = None

    @model_validator(mode="after")
    def _option_needs_its_field(self) -> OutCallerInfo:
        ext_range = (self.outbound_cid_to_ext_range or "").strip()
        if self.outbound_cid_option == "range" and not ext_range:
            raise PydanticCustomError(
                "outbound_cid_option",
                "outbound_cid_to_ext_range is required when outbound_cid_option is 'range'",
            )
        if self.outbound_cid_option == "shared" and not self.ext_list:
            raise PydanticCustomError(
                "outbound_cid_option",
                "a non-empty ext_list is required when outbound_cid_option is 'shared'",
            )
        return self


class DidItem(_Model):
    """DID_List (tables 4, 8)."""

    did: NestedText
    did_name: str | None = None


class _Trunk(_Model):
    """Fields every trunk type shares, so that code can read them without narrowing."""

    name: TrunkName
    country: Text
    type: str

    @field_serializer("password", when_used="json", check_fields=False)
    def _reveal_password(self, value: SecretStr | None) -> str | None:
        # Only the JSON body sent to the PBX carries the password in clear.
        return None if value is None else value.get_secret_value()


class RegisterTrunk(_Trunk):
    """Table 1: a trunk that registers to the ITSP."""

    type: Literal["register"]
    transport: Literal["udp", "tcp", "tls", "dnsnaptr"]
    hostname: Text
    port: Port
    domain: Text
    username: Text
    password: RegisterPassword
    auth_name: Text
    codec_sel: Annotated[Text, AfterValidator(_codec_checker("register"))]
    enable: Flag | None = None
    itsp: str | None = None
    enb_outbound_proxy: Flag | None = None
    outbound_proxy_server: str | None = None
    outbound_proxy_port: Port | None = None
    def_outbound_cid: str | None = None
    def_outbound_cid_name: str | None = None
    outbound_cid_list: list[OutCallerInfo] | None = None
    did_list: list[DidItem] | None = None


class PeerTrunk(_Trunk):
    """Table 5: a peer-to-peer trunk, authenticated by address."""

    type: Literal["peer"]
    transport: Literal["udp", "tcp", "tls", "dnsnaptr"]
    hostname: Text
    port: Port
    domain: Text
    codec_sel: Annotated[Text, AfterValidator(_codec_checker("peer"))]
    enable: Flag | None = None
    itsp: str | None = None
    def_outbound_cid: str | None = None
    def_outbound_cid_name: str | None = None
    outbound_cid_list: list[OutCallerInfo] | None = None
    did_list: list[DidItem] | None = None


class AccountTrunk(_Trunk):
    """Table 9: a trunk that a third-party device registers to."""

    type: Literal["account"]
    transport: Literal["udp", "tcp", "tls"]
    number: Text
    password: Password
    auth_name: Text
    codec_sel: Annotated[Text, AfterValidator(_codec_checker("account"))]
    enable: Flag | None = None
    itsp: str | None = None
    def_outbound_cid: str | None = None
    def_outbound_cid_name: str | None = None
    outbound_cid_list: list[OutCallerInfo] | None = None


TrunkRequest = Annotated[RegisterTrunk | PeerTrunk | AccountTrunk, Field(discriminator="type")]
MODEL_BY_TYPE: dict[str, type[RegisterTrunk | PeerTrunk | AccountTrunk]] = {
    "register": RegisterTrunk,
    "peer": PeerTrunk,
    "account": AccountTrunk,
}
TRUNK_REQUEST: TypeAdapter[RegisterTrunk | PeerTrunk | AccountTrunk] = TypeAdapter(
    TrunkRequest, config=ConfigDict(hide_input_in_errors=True)
)

# Every API parameter that some trunk type accepts, in the seed's order.
API_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys(field for model in MODEL_BY_TYPE.values() for field in model.model_fields)
)


def parse_request_body(body: dict[str, Any]) -> RegisterTrunk | PeerTrunk | AccountTrunk:
    """Validate a JSON body (as sent to the PBX) back into its model."""
    return TRUNK_REQUEST.validate_python(body)
