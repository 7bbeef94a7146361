"""Yeastar's `trunk/create` tables (the seed, tables 1-11) as data: the fields of each object.

Written from the seed and the API rules of the product's contract, never from the product's own
schema, so that a schema bug of the product shows up as a refusal here. Where the seed is silent,
the choice made is the strict one and is listed in pbxsim/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "int", "list"]
TRUNK_TYPES = ("register", "peer", "account")
NAME_MAX_LENGTH = 63
REGISTER_PASSWORD_MIN_LENGTH = 10
# Table 1 and table 9 list the same codecs; table 5 (peer) lists them without mpeg4.
REGISTER_CODECS = (
    "ulaw", "alaw", "g729", "gsm", "h264", "h263", "h263p", "ilbc",
    "g722", "g726", "speex", "adpcm", "mpeg4", "vp8", "opus",
)  # fmt: skip
PEER_CODECS = tuple(codec for codec in REGISTER_CODECS if codec != "mpeg4")


@dataclass(frozen=True)
class When:
    """A condition on a sibling field: `field` holds `value`."""

    field: str
    value: str | int
    # Whether the field is refused when the condition does not hold.
    refused_otherwise: bool = False


@dataclass(frozen=True)
class Field:
    """One parameter of a table: its JSON kind, whether it is required, and its valid values."""

    name: str
    kind: Kind = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    int_range: tuple[int, int] | None = None
    # A range of two values is a switch (0/1): out of it is "enum", not "range".
    items: tuple[Field, ...] = ()
    required_when: When | None = None
    # Display names may hold a TAB; no other field takes a control character.
    free_text: bool = False
    # A named extra rule of validation.py: "trunk_name", "register_password", "codecs".
    rule: str = ""


PORT = (1, 65535)
SWITCH = (0, 1)

EXTENSION_INFO = (  # tables 3, 7, 11
    Field("type", choices=("extension", "ext_group")),
    Field("ext_number", free_text=True),
    Field("ext_name", free_text=True),
    Field("id", "int", required=True, int_range=(1, 2**31 - 1)),
)
OUT_CALLER_INFO = (  # tables 2, 6, 10
    Field("outbound_cid_option", required=True, choices=("range", "shared")),
    Field("outbound_cid", required=True),
    Field("outbound_cid_name", free_text=True),
    Field(
        "outbound_cid_to_ext_range",
        required_when=When("outbound_cid_option", "range", refused_otherwise=True),
    ),
    Field(
        "ext_list", "list", items=EXTENSION_INFO,
        required_when=When("outbound_cid_option", "shared", refused_otherwise=True),
    ),
)  # fmt: skip
DID_LIST = (  # tables 4, 8
    Field("did", required=True),
    Field("did_name", free_text=True),
)


def _head(trunk_type: str, transports: tuple[str, ...]) -> tuple[Field, ...]:
    return (
        Field("name", required=True, rule="trunk_name"),
        Field("country", required=True),
        Field("type", required=True, choices=(trunk_type,)),
        Field("transport", required=True, choices=transports),
    )


def _host() -> tuple[Field, ...]:
    return (
        Field("hostname", required=True),
        Field("port", "int", required=True, int_range=PORT),
        Field("domain", required=True),
    )


def _codecs(codecs: tuple[str, ...]) -> Field:
    return Field("codec_sel", required=True, choices=codecs, rule="codecs")


def _caller_ids(with_dids: bool) -> tuple[Field, ...]:
    fields = (
        Field("def_outbound_cid"),
        Field("def_outbound_cid_name", free_text=True),
        Field("outbound_cid_list", "list", items=OUT_CALLER_INFO),
    )
    return (*fields, Field("did_list", "list", items=DID_LIST)) if with_dids else fields


ENABLE = Field("enable", "int", int_range=SWITCH)
ITSP = Field("itsp")
SIP_TRANSPORTS = ("udp", "tcp", "tls", "dnsnaptr")

TRUNK_TABLES: dict[str, tuple[Field, ...]] = {
    "register": (  # table 1
        *_head("register", SIP_TRANSPORTS),
        *_host(),
        Field("username", required=True),
        Field("password", required=True, rule="register_password"),
        Field("auth_name", required=True),
        _codecs(REGISTER_CODECS),
        ENABLE,
        ITSP,
        Field("enb_outbound_proxy", "int", int_range=SWITCH),
        Field("outbound_proxy_server", required_when=When("enb_outbound_proxy", 1)),
        Field("outbound_proxy_port", "int", int_range=PORT),
        *_caller_ids(with_dids=True),
    ),
    "peer": (  # table 5
        *_head("peer", SIP_TRANSPORTS),
        *_host(),
        _codecs(PEER_CODECS),
        ENABLE,
        ITSP,
        *_caller_ids(with_dids=True),
    ),
    "account": (  # table 9
        *_head("account", ("udp", "tcp", "tls")),
        Field("number", required=True),
        Field("password", required=True),
        Field("auth_name", required=True),
        _codecs(REGISTER_CODECS),
        ENABLE,
        ITSP,
        *_caller_ids(with_dids=False),
    ),
}
# Every top-level field of any type: one that the body's own type lacks is "not for this type".
ANY_TYPE_FIELDS = frozenset(field.name for table in TRUNK_TABLES.values() for field in table)
# "Edit a SIP Trunk" lists neither of these: they are set once, by trunk/create.
FIXED_AT_CREATE = ("type", "country", "itsp")
