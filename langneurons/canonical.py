"""The one canonical JSON form, and its sha256: how every record's hash is computed.

Keys sorted, no whitespace, non-ASCII kept as UTF-8, NaN and infinities refused
(they are not JSON). Task specs, neuron sets, results files, statistics cache keys
and lm-eval task configurations are all hashed here, so two modules can never
disagree on what the same content hashes to.
"""

from __future__ import annotations

import hashlib
import json


def canonical_json(data: object) -> str:
    """``data`` as canonical JSON text.

    Raises:
        ValueError: ``data`` holds NaN or an infinity.
        TypeError: ``data`` holds something JSON cannot represent.
    """
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_of(data: object) -> str:
    """sha256 (hex) of ``data``'s canonical JSON, encoded as UTF-8."""
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()
