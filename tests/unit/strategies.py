"""Hypothesis strategies for valid `trunk/create` requests of every trunk type.

Top-level strings are non-empty and carry no surrounding whitespace, because a CSV cell is
trimmed and an empty cell means "not sent"; no string holds a control character but the TAB of
free text (names people read). Characters that make CSV interesting (delimiters, quotes,
backslashes) are favoured.
"""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

from trunks.schema import (
    NAME_MAX_LENGTH,
    PEER_CODECS,
    REGISTER_CODECS,
    AccountTrunk,
    DidItem,
    ExtensionInfo,
    OutCallerInfo,
    PeerTrunk,
    RegisterTrunk,
)

_CSV_SPICE = ",;:\"'[]{} \\"
_CHARACTERS = st.one_of(
    st.characters(exclude_categories=("Cs", "Cc")),  # no surrogates, no control characters
    st.sampled_from(_CSV_SPICE),
)
# Free text (names people read) may also hold a TAB.
_FREE_TEXT_CHARACTERS = _CHARACTERS | st.just("\t")
ANY_TEXT = st.text(_CHARACTERS, max_size=12)
FREE_TEXT = st.text(_FREE_TEXT_CHARACTERS, max_size=12)
# Required text inside JSON cells: never blank (cells are trimmed, their JSON values are not).
NESTED_TEXT = st.text(_CHARACTERS, min_size=1, max_size=12).filter(str.strip)
CELL_TEXT = NESTED_TEXT.filter(lambda text: text == text.strip())
FREE_CELL_TEXT = (
    st.text(_FREE_TEXT_CHARACTERS, min_size=1, max_size=12)
    .filter(str.strip)
    .filter(lambda text: text == text.strip())
)

NAMES = st.text(string.ascii_letters + string.digits + "_-.", min_size=1, max_size=NAME_MAX_LENGTH)
PORTS = st.integers(min_value=1, max_value=65535)
FLAGS = st.sampled_from([0, 1])
# The seed's password rule, with the three required character classes at a random place.
REGISTER_PASSWORDS = st.builds(
    lambda head, tail: f"{head}aZ7{tail}", ANY_TEXT, st.text(_CHARACTERS, min_size=7, max_size=12)
).filter(lambda text: text == text.strip())


def codec_sels(codecs: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Distinct codecs of one type, joined by commas with or without spaces."""
    return st.builds(
        lambda chosen, separator: separator.join(chosen),
        st.lists(st.sampled_from(codecs), min_size=1, max_size=len(codecs), unique=True),
        st.sampled_from([",", ", ", " , "]),
    )


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The value or None (the field is left out)."""
    return st.none() | strategy


EXTENSIONS = st.builds(
    ExtensionInfo,
    type=optional(st.sampled_from(["extension", "ext_group"])),
    ext_number=optional(ANY_TEXT),
    ext_name=optional(FREE_TEXT),
    id=st.integers(min_value=-(2**63), max_value=2**63 - 1),
)
RANGE_CALLER_IDS = st.builds(
    OutCallerInfo,
    outbound_cid_option=st.just("range"),
    outbound_cid=NESTED_TEXT,
    outbound_cid_name=optional(FREE_TEXT),
    outbound_cid_to_ext_range=NESTED_TEXT,
    ext_list=optional(st.lists(EXTENSIONS, max_size=3)),
)
SHARED_CALLER_IDS = st.builds(
    OutCallerInfo,
    outbound_cid_option=st.just("shared"),
    outbound_cid=NESTED_TEXT,
    outbound_cid_name=optional(FREE_TEXT),
    outbound_cid_to_ext_range=optional(ANY_TEXT),
    ext_list=st.lists(EXTENSIONS, min_size=1, max_size=3),
)
CALLER_ID_LISTS = st.lists(RANGE_CALLER_IDS | SHARED_CALLER_IDS, max_size=2)
DID_ITEMS = st.builds(DidItem, did=NESTED_TEXT, did_name=optional(FREE_TEXT))
# Plain DIDs favour the `did[:did_name];...` short form; others force the JSON form.
SHORT_DID_ITEMS = st.builds(
    DidItem,
    did=st.text(string.digits, min_size=1, max_size=10),
    did_name=optional(st.text(string.ascii_letters + " ", min_size=1).map(str.strip)),
)
DID_LISTS = st.lists(SHORT_DID_ITEMS, max_size=4) | st.lists(DID_ITEMS, max_size=4)

_COMMON_OPTIONAL = {
    "enable": optional(FLAGS),
    "itsp": optional(FREE_CELL_TEXT),
    "def_outbound_cid": optional(CELL_TEXT),
    "def_outbound_cid_name": optional(FREE_CELL_TEXT),
    "outbound_cid_list": optional(CALLER_ID_LISTS),
}

REGISTER_TRUNKS = st.builds(
    RegisterTrunk,
    name=NAMES,
    country=CELL_TEXT,
    type=st.just("register"),
    transport=st.sampled_from(["udp", "tcp", "tls", "dnsnaptr"]),
    hostname=CELL_TEXT,
    port=PORTS,
    domain=CELL_TEXT,
    username=CELL_TEXT,
    password=REGISTER_PASSWORDS,
    auth_name=CELL_TEXT,
    codec_sel=codec_sels(REGISTER_CODECS),
    enb_outbound_proxy=optional(FLAGS),
    outbound_proxy_server=optional(CELL_TEXT),
    outbound_proxy_port=optional(PORTS),
    did_list=optional(DID_LISTS),
    **_COMMON_OPTIONAL,
)
PEER_TRUNKS = st.builds(
    PeerTrunk,
    name=NAMES,
    country=CELL_TEXT,
    type=st.just("peer"),
    transport=st.sampled_from(["udp", "tcp", "tls", "dnsnaptr"]),
    hostname=CELL_TEXT,
    port=PORTS,
    domain=CELL_TEXT,
    codec_sel=codec_sels(PEER_CODECS),
    did_list=optional(DID_LISTS),
    **_COMMON_OPTIONAL,
)
ACCOUNT_TRUNKS = st.builds(
    AccountTrunk,
    name=NAMES,
    country=CELL_TEXT,
    type=st.just("account"),
    transport=st.sampled_from(["udp", "tcp", "tls"]),
    number=CELL_TEXT,
    password=CELL_TEXT,
    auth_name=CELL_TEXT,
    codec_sel=codec_sels(REGISTER_CODECS),
    **_COMMON_OPTIONAL,
)
TRUNKS = REGISTER_TRUNKS | PEER_TRUNKS | ACCOUNT_TRUNKS
