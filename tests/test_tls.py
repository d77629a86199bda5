"""TLS is verified by default: a certificate nobody vouched for is refused."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from streamkit import Recorder, eventually, running
from websockets.asyncio.server import ServerConnection, serve

from maicoin.ws import HandshakeError, Stream

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
async def tls_server(certificate: tuple[Path, Path]) -> AsyncIterator[str]:
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    async def greet(connection: ServerConnection) -> None:
        await connection.send('{"e":"authenticated","i":"x","T":1700000000000}')
        await connection.wait_closed()

    async with serve(greet, "127.0.0.1", 0, ssl=context) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"wss://127.0.0.1:{port}/ws"


async def test_self_signed_certificate_is_refused_by_default(tls_server: str) -> None:
    failures: list[BaseException | None] = []
    stream = Stream(uri=tls_server, reconnect=False, on_permanent_failure=failures.append)
    with pytest.raises(HandshakeError, match="TLS certificate verification failed") as caught:
        await asyncio.wait_for(stream.arun(), 10)
    assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)
    assert failures == [caught.value]


async def test_a_context_that_trusts_the_certificate_connects(
    tls_server: str, certificate: tuple[Path, Path]
) -> None:
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    stream = Stream(uri=tls_server, ssl=trusted)  # forwarded to websockets.connect
    seen = Recorder()
    stream.add_handler(seen)
    async with running(stream):
        await eventually(lambda: seen.responses, what="a frame over TLS")
    assert seen.events() == ["authenticated"]
