"""TLS for granian: the certificate and key to serve with, generating a self-signed pair when asked.

``--self-signed-certs`` writes ``cert.pem`` and ``key.pem`` (an ECDSA P-256 key) into the server's
shared directory at start; the certificate is valid for a year for ``localhost``, ``127.0.0.1``,
``::1`` and the bound host, and is its own CA, so a client can trust it directly
(``httpx.Client(verify=ssl.create_default_context(cafile=path))``).
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
from pathlib import Path

from fakeai.extras import require
from fakeai.settings import Settings


def files(settings: Settings, directory: Path) -> tuple[Path, Path] | None:
    """``(certfile, keyfile)`` to serve HTTPS with, or None for plain HTTP."""
    if settings.ssl_certfile:
        return Path(settings.ssl_certfile), Path(settings.ssl_keyfile)
    if settings.self_signed_certs:
        return self_signed(directory, settings.host)
    return None


def self_signed(directory: Path, host: str) -> tuple[Path, Path]:
    """Generate a self-signed certificate and its key into ``directory``."""
    require("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.DNSName(socket.gethostname())]
    addresses = {"127.0.0.1", "::1"}
    try:
        ip = ipaddress.ip_address(host)
        if not ip.is_unspecified:
            addresses.add(str(ip))
    except ValueError:
        names.append(x509.DNSName(host))
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in sorted(addresses)]
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "fakeai"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fakeai self-signed"),
        ]
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(list(dict.fromkeys(names))), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path
