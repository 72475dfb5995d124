"""The verifier's JSON-RPC client over HTTPS, as requests (which web3 used) trusted and reached endpoints: the CA
bundle from REQUESTS_CA_BUNDLE (else certifi's), certificate checks that refuse an unknown CA, and an https endpoint
through an HTTP proxy's CONNECT tunnel (HTTPS_PROXY). A real TLS server and a real CONNECT relay on loopback, with a
test CA made by `cryptography`."""

from __future__ import annotations

import datetime
import ipaddress
import json
import select
import socket
import ssl
import threading
from http.server import ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from anchoring.chain.jsonrpc import JsonRpc
from anchoring.errors import ChainUnreachable
from tests.helpers.servers import QuietHandler

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def _certificate(subject: str, key, issuer=None, issuer_key=None, ca: bool = False) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(
            issuer.subject if issuer else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        )
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A CA file and an HTTPS JSON-RPC endpoint on 127.0.0.1 whose certificate that CA signed."""
    folder = tmp_path_factory.mktemp("tls")
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("credreg test CA", ca_key, ca=True)
    server = _certificate("127.0.0.1", server_key, issuer=ca, issuer_key=ca_key)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )

    class Answer(QuietHandler):
        def do_POST(self):
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self.reply(200, json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": "0x7a69"}).encode())

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "server.pem", folder / "server.key")
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield {"ca": str(folder / "ca.pem"), "url": f"https://127.0.0.1:{httpd.server_address[1]}/v3/key"}
    httpd.shutdown()


@pytest.fixture
def no_proxy(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_the_ca_bundle_requests_trusted_is_trusted(tls, monkeypatch, no_proxy):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls["ca"])
    assert JsonRpc(tls["url"]).request("eth_chainId", []) == "0x7a69"


def test_a_certificate_from_an_unknown_ca_is_refused(tls, monkeypatch, no_proxy):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)  # certifi's bundle: it does not know the test CA
    with pytest.raises(ChainUnreachable, match="SSLCertVerificationError") as refused:
        JsonRpc(tls["url"]).request("eth_chainId", [])
    assert "key" not in str(refused.value)  # the URL's secret path is not shown


class _Connect(QuietHandler):
    """An HTTP proxy that only tunnels: CONNECT host:port, then bytes both ways."""

    def do_CONNECT(self):
        self.server.seen.append(self.path)  # type: ignore[attr-defined]
        host, port = self.path.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)), timeout=10)
        self.send_response(200, "Connection established")
        self.end_headers()
        sockets = [self.connection, upstream]
        while True:
            readable, _, _ = select.select(sockets, [], [], 10)
            if not readable:
                break
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    upstream.close()
                    return
                (upstream if sock is self.connection else self.connection).sendall(data)


def test_an_https_endpoint_through_the_proxy_s_tunnel(tls, monkeypatch, no_proxy):
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _Connect)
    proxy.seen = []
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls["ca"])
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        assert JsonRpc(tls["url"]).request("eth_chainId", []) == "0x7a69"
        assert proxy.seen == [tls["url"].split("/")[2]]  # the tunnel went to the endpoint's host and port
    finally:
        proxy.shutdown()
