"""A small MaxMind DB (``.mmdb``) writer for tests: enough of the format spec to make fixtures.

Format 2.0: a binary search tree over the address bits (32-bit records here), 16 zero bytes, the
data section, then the metadata marker and the metadata map. IPv4 networks live at ``::/96`` of an
IPv6 tree, where readers look for them.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

MARKER = b"\xab\xcd\xefMaxMind.com"


def _control(kind: int, size: int) -> bytes:
    extended = kind > 7
    first = (0 if extended else kind) << 5
    if size < 29:
        head, tail = bytes([first | size]), b""
    elif size < 285:
        head, tail = bytes([first | 29]), bytes([size - 29])
    elif size < 65821:
        head, tail = bytes([first | 30]), (size - 285).to_bytes(2, "big")
    else:
        head, tail = bytes([first | 31]), (size - 65821).to_bytes(3, "big")
    return head + (bytes([kind - 7]) if extended else b"") + tail


def _uint(kind: int, value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
    return _control(kind, len(raw)) + raw


class U16(int):
    """An integer the format wants as uint16 (metadata fields)."""


class U64(int):
    """An integer the format wants as uint64."""


def encode(value: Any) -> bytes:
    """One value in the MaxMind data section encoding."""
    if isinstance(value, U16):
        return _uint(5, value)
    if isinstance(value, U64):
        return _uint(9, value)
    if isinstance(value, bool):
        return _control(14, int(value))
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _control(2, len(raw)) + raw
    if isinstance(value, bytes):
        return _control(4, len(value)) + value
    if isinstance(value, float):
        return _control(3, 8) + struct.pack(">d", value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError("negative integers are not needed here")
        return _uint(6 if value < 1 << 32 else 9, value)
    if isinstance(value, Mapping):
        out = _control(7, len(value))
        for key, item in value.items():
            out += encode(str(key)) + encode(item)
        return out
    if isinstance(value, (list, tuple)):
        return _control(11, len(value)) + b"".join(encode(v) for v in value)
    raise TypeError(f"cannot encode {value!r}")


def write_mmdb(
    path: str | Path,
    networks: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    ip_version: int = 6,
    database_type: str = "Test-ASN",
) -> Path:
    """Write a database mapping each network (CIDR text) to its record; networks must not nest."""
    root: list[Any] = [None, None]
    data = bytearray()
    offsets: dict[bytes, int] = {}
    for cidr, record in networks:
        net = ipaddress.ip_network(cidr)
        if ip_version == 6 and net.version == 4:
            bits, length = int(net.network_address), net.prefixlen + 96
        elif net.version == ip_version:
            bits, length = int(net.network_address), net.prefixlen
        else:
            raise ValueError(f"{cidr} does not fit an IPv{ip_version} tree")
        width = 128 if ip_version == 6 else 32
        blob = encode(record)
        if blob not in offsets:
            offsets[blob] = len(data)
            data += blob
        node = root
        for i in range(length):
            bit = (bits >> (width - 1 - i)) & 1
            if i == length - 1:
                node[bit] = ("data", offsets[blob])
            else:
                if not isinstance(node[bit], list):
                    node[bit] = [None, None]
                node = node[bit]
    # number the nodes breadth first
    order: list[list[Any]] = [root]
    for node in order:
        order.extend(child for child in node if isinstance(child, list))
    index = {id(node): i for i, node in enumerate(order)}
    count = len(order)

    def record_value(child: Any) -> int:
        if child is None:
            return count
        if isinstance(child, list):
            return index[id(child)]
        return count + 16 + child[1]

    tree = b"".join(
        struct.pack(">II", record_value(node[0]), record_value(node[1])) for node in order
    )
    metadata = {
        "node_count": count,
        "record_size": U16(32),
        "ip_version": U16(ip_version),
        "database_type": database_type,
        "languages": ["en"],
        "binary_format_major_version": U16(2),
        "binary_format_minor_version": U16(0),
        "build_epoch": U64(1_764_720_000),
        "description": {"en": "shieldware test database"},
    }
    out = Path(path)
    out.write_bytes(tree + b"\x00" * 16 + bytes(data) + MARKER + encode(metadata))
    return out
