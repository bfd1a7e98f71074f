"""Server-side TLS from VIGIL_TLS_CERT_FILE / VIGIL_TLS_KEY_FILE (PEM), for gRPC and
the HTTP servers. Certificates are read at start-up: restart to rotate them."""

from __future__ import annotations

import ssl
from pathlib import Path

import grpc


def grpc_server_credentials(cert_file: Path, key_file: Path) -> grpc.ServerCredentials:
    return grpc.ssl_server_credentials([(key_file.read_bytes(), cert_file.read_bytes())])


def server_ssl_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context
