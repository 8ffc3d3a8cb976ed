"""What makes a report verifiable: its number, the digest of its content and of its file, the
verification code (an HMAC, keyed by the workspace's report key, over the number, the subject,
the kind, the as-of date and the content's digest) and the QR code printed with them."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import uuid

from chengxin import catalog


def _key(home=None) -> bytes:
    path = catalog.report_key(home)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        tmp.write_bytes(secrets.token_bytes(32))
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # the first writer wins: every process signs with the same key
        except FileExistsError:
            pass
        tmp.unlink()
    return path.read_bytes()


def code(number: str, sid: str, kind: str, as_of: str, digest: str, home=None) -> str:
    """The verification code of a report: 20 base32 characters of the HMAC."""
    mac = hmac.new(_key(home), f"{number}|{sid}|{kind}|{as_of}|{digest}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac).decode()[:20]


def number_example() -> str:
    """What a report number looks like (today's date), for a form's placeholder."""
    return f"CX{dt.date.today():%Y%m%d}-7F3A9C02B1"


def number(now: dt.datetime) -> str:
    """A new report number: the day of issue and ten random hex digits."""
    return f"CX{now:%Y%m%d}-{uuid.uuid4().hex[:10].upper()}"


def content_digest(body: dict) -> str:
    """The SHA-256 of a report's content, as canonical JSON."""
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


def file_digest(data: bytes) -> str:
    """The SHA-256 of a report's file, byte for byte."""
    return hashlib.sha256(data).hexdigest()


def qr_svg(text: str) -> str:
    import qrcode
    import qrcode.image.svg

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=1, mask_pattern=0,
                       image_factory=qrcode.image.svg.SvgPathImage)  # a fixed mask: no search, still a valid code
    qr.add_data(text)
    return qr.make_image().to_string(encoding="unicode")
