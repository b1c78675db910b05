"""Which remote errors are worth retrying, and how long to wait between attempts.

A transient error is one a second identical request may not meet: a dropped or reset
connection, a timeout, an HTTP 5xx, throttling (HTTP 429, S3 ``SlowDown``). Anything else
(missing key, permission denied, bad request) fails at once. Exceptions are recognised by
type, by the HTTP status they carry and by the S3 error code, walking the chain of causes
because fsspec implementations often re-raise one error as another.
"""

from __future__ import annotations

import asyncio
import random
import re
import sys

from .. import config

#: S3 / cloud error codes that mean "try again later".
TRANSIENT_CODES = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
    "TooManyRequests", "TooManyRequestsException", "RequestLimitExceeded", "RequestTimeout",
    "RequestTimeoutException", "InternalError", "InternalFailure", "ServiceUnavailable",
    "ServiceUnavailableException", "BandwidthLimitExceeded", "EC2ThrottledException",
    "PriorRequestNotComplete", "IDPCommunicationError", "500", "502", "503", "504",
})
#: HTTP statuses that mean "try again later".
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: Exception class names (from optional libraries: aiohttp, botocore, requests) that are transient.
TRANSIENT_TYPE_NAMES = frozenset({
    "ClientConnectionError", "ClientConnectorError", "ClientOSError", "ServerDisconnectedError",
    "ServerTimeoutError", "ClientPayloadError", "ContentLengthError", "SocketTimeoutError",
    "ConnectionTimeoutError", "EndpointConnectionError", "ConnectionClosedError", "ReadTimeoutError",
    "ConnectTimeoutError", "ResponseStreamingError", "IncompleteReadError", "ProtocolError",
    "ChunkedEncodingError", "FSTimeoutError",
})
_TRANSIENT_PHRASES = ("slowdown", "reduce your request rate", "service unavailable", "too many requests",
                      "connection reset", "connection aborted", "timed out", "throttl")
MAX_DELAY = 5.0
#: statuses of the 5xx class that no retry changes (the server does not implement the method or version)
FINAL_SERVER_STATUSES = frozenset({501, 505})
#: how obstore (Rust object_store) reports an HTTP status and a failed connection in its error text
_OBSTORE_STATUS = re.compile(r"status code: (\d{3})")
_OBSTORE_TRANSIENT_KIND = re.compile(r"kind: (Connect|Request|Timeout|Interrupted|Decode)\b")


def _status_of(exc: BaseException) -> int | None:
    for attr in ("status", "status_code", "code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and 100 <= value < 600:
            return value
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(status, int):
            return status
    if _from_obstore(exc):
        match = _OBSTORE_STATUS.search(str(exc))
        if match:
            return int(match.group(1))
    return None


def _from_obstore(exc: BaseException) -> bool:
    return type(exc).__module__.split(".", 1)[0] == "obstore"


def _code_of(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen and len(seen) < 10:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is worth retrying."""
    chain = _chain(exc)
    # a missing key or a refused permission is final, whatever caused it
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError | NotADirectoryError):
        return False
    for e in chain:
        if isinstance(e, ConnectionError | TimeoutError | asyncio.TimeoutError):
            return True
        if any(c.__name__ in TRANSIENT_TYPE_NAMES for c in type(e).__mro__):
            return True
        status = _status_of(e)
        if status is not None and (status in TRANSIENT_STATUSES
                                   or (status >= 500 and status not in FINAL_SERVER_STATUSES)):
            return True
        if status is None and _from_obstore(e) and _OBSTORE_TRANSIENT_KIND.search(str(e)):
            return True
        code = _code_of(e)
        if code is not None and code in TRANSIENT_CODES:
            return True
    text = " ".join(str(e) for e in chain).lower()
    return any(p in text for p in _TRANSIENT_PHRASES)


#: (module, class names): the base exceptions of the remote client libraries stores are built on. A store
#: operation that raises one of these (or an ``OSError``) met the network, a server or the filesystem; any
#: other exception is a bug and propagates as itself.
_CLIENT_ERRORS = (
    ("aiohttp", ("ClientError",)),
    ("botocore.exceptions", ("BotoCoreError", "ClientError")),
    ("obstore.exceptions", ("BaseError",)),
    ("requests.exceptions", ("RequestException",)),
    ("urllib3.exceptions", ("HTTPError",)),
    ("fsspec.implementations.reference", ("ReferenceNotReachable",)),
    ("google.api_core.exceptions", ("GoogleAPIError",)),
    ("google.auth.exceptions", ("GoogleAuthError",)),
    ("azure.core.exceptions", ("AzureError",)),
    ("zipfile", ("BadZipFile",)),
)


def io_errors() -> tuple[type[BaseException], ...]:
    """The exception types a store operation is expected to meet: ``OSError`` (missing keys, refused
    permissions, dropped connections, timeouts) and the base errors of the client libraries loaded in this
    process (aiohttp, botocore, obstore, ...). Used as ``except io_errors() as e:``; the expression is
    evaluated only when an exception is being matched, by which time its library is loaded."""
    found: list[type[BaseException]] = [OSError]
    for module, names in _CLIENT_ERRORS:
        mod = sys.modules.get(module)
        if mod is not None:
            found.extend(getattr(mod, name) for name in names if hasattr(mod, name))
    return tuple(found)


def rust_panics() -> tuple[type[BaseException], ...]:
    """The class of a Rust panic raised through pyo3 (``pyo3_runtime.PanicException``, which no module
    exports): found among ``BaseException``'s direct subclasses once one has been raised. Used as
    ``except rust_panics():`` (an empty tuple matches nothing)."""
    return tuple(c for c in BaseException.__subclasses__() if c.__name__ == "PanicException")


def backoff_delay(attempt: int, base: float | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): exponential with jitter, capped."""
    base = float(config.get("retry_backoff")) if base is None else base
    return min(MAX_DELAY, base * (2 ** attempt)) * random.uniform(0.5, 1.5)


def max_retries() -> int:
    """How many times a transient failure is retried (``zarrconv.config`` ``retries``)."""
    return max(0, int(config.get("retries")))


__all__ = ["backoff_delay", "io_errors", "is_transient", "max_retries", "rust_panics"]
