"""Test certificates (Debian's python3-cryptography): a self-signed certificate and key in
PEM, valid for the names and addresses given, or deliberately expired or not yet valid."""
import datetime
import hashlib
import ipaddress
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_cert(cert_path, key_path, cn="localhost", names=("localhost",),
              addresses=("127.0.0.1",), valid_from_days=-1, valid_days=30):
    """Write a self-signed certificate and its unencrypted key; return the certificate's
    SHA-256 fingerprint (hex), to tell which certificate a server presents."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    start = now + datetime.timedelta(days=valid_from_days)
    alt = [x509.DNSName(n) for n in names] + \
          [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=valid_days))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return cert.fingerprint(hashes.SHA256()).hex()


def presented_fingerprint(host, port, timeout=5.0):
    """SHA-256 (hex) of the certificate a TLS server presents to a new connection."""
    pem = ssl.get_server_certificate((host, port), timeout=timeout)
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def client_context(cafile=None):
    """A client context that trusts cafile (the self-signed certificate), or nothing."""
    ctx = ssl.create_default_context(cafile=cafile)
    if cafile is None:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
