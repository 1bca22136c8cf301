"""A real, single-node Apache Kafka broker for tests, run from the jars on Maven Central.

The embedded broker covers most tests, but some behaviour only the real broker has: durable
logs across restarts, consumer-group offsets kept by the group coordinator, transactions and
read_committed isolation, SASL and TLS on the wire. This module runs that broker without a
download step of its own: ``install()`` lets Maven copy the pinned ``kafka_2.13`` release and
its runtime dependencies (``deploy/kafka/pom.xml``) into a cache folder once, and
``ApacheKafka`` formats KRaft storage and starts one combined broker+controller JVM on loopback.

Typical use::

    with ApacheKafka(tmp_path / "kafka") as kafka:
        producer = Producer(kafka.client_config())

Every broker has a PLAINTEXT listener named ``INTERNAL`` (inter-broker traffic, readiness
checks, and admin work that should not depend on the security under test) and one or more
client listeners, each with its own security: SASL PLAIN / SCRAM, TLS, mutual TLS, or none.

Only the standard library and ``confluent_kafka`` are used; certificates come from the
``openssl`` command line tool, which Debian-based machines have by default.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from scorer.tools.broker import free_ports
from scorer.tools.lifetime import die_with_parent

__all__ = [
    "POM_PATH",
    "ApacheKafka",
    "ApacheKafkaError",
    "KafkaInstallError",
    "KafkaStartError",
    "Listener",
    "TlsMaterial",
    "default_cache_dir",
    "generate_tls_material",
    "install",
    "install_kafka",
    "kafka_version",
]

POM_PATH = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "pom.xml"
"""The Maven project that pins the Kafka release; ``SCORER_KAFKA_POM`` overrides it."""

_MARKER = ".installed.json"
_SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
_SASL_MECHANISMS = ("PLAIN", *_SCRAM_MECHANISMS)
_RESERVED_LISTENERS = ("INTERNAL", "CONTROLLER")
#: What Kafka (3.x and 4.x in KRaft mode) logs once every listener is bound and serving.
_STARTED = b"Kafka Server started"
# Names and passwords go unquoted into --add-scram and quoted into JAAS configs; these
# characters would need escaping rules that differ between the two, so they are refused.
_CREDENTIAL = re.compile(r'^[^\s"\\,=\[\];]+$')
# Maven 3.8 writes colour resets even in batch mode.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class ApacheKafkaError(RuntimeError):
    """Base class: the broker could not be installed, formatted or started."""


class KafkaInstallError(ApacheKafkaError):
    """Maven or Java is missing, or Maven could not fetch the pinned release."""


class KafkaStartError(ApacheKafkaError):
    """The broker exited or did not answer in time; the message ends with its log tail."""


# --------------------------------------------------------------------------------------------
# Installation


def _pom_path(pom: Path | None = None) -> Path:
    path = pom or Path(os.environ.get("SCORER_KAFKA_POM") or POM_PATH)
    if not path.is_file():
        raise KafkaInstallError(f"the Kafka Maven project {path} does not exist")
    return path


def kafka_version(pom: Path | None = None) -> str:
    """The Kafka version pinned by the Maven project (its ``kafka.version`` property).

    The pom is the single place the version is written, so the cache folder's name and the
    checks after the install follow it without a second constant to keep in step.
    """
    path = _pom_path(pom)
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(path).getroot().find("m:properties/m:kafka.version", ns)
    version = (node.text or "").strip() if node is not None else ""
    if not version:
        raise KafkaInstallError(f"{path} has no <kafka.version> property")
    return version


def default_cache_dir(version: str | None = None) -> Path:
    """``$SCORER_KAFKA_CACHE``, else ``~/.cache/scorer/kafka-<version>``."""
    env = os.environ.get("SCORER_KAFKA_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "scorer" / f"kafka-{version or kafka_version()}"


def _java_executable() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise KafkaInstallError(
            "Java is needed to run Apache Kafka but `java` is not on PATH and JAVA_HOME is not "
            "set (Kafka 4 needs Java 17 or newer; on Debian: apt-get install openjdk-17-jre-headless)"
        )
    return found


def _installed(cache_dir: Path, fingerprint: str) -> bool:
    try:
        marker = json.loads((cache_dir / _MARKER).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("fingerprint") == fingerprint and all(
        (cache_dir / jar).is_file() for jar in marker.get("jars", [])
    )


def install(cache_dir: Path | str | None = None, *, pom: Path | None = None) -> Path:
    """Fill ``cache_dir`` with the pinned Kafka jars once, and return that folder.

    A marker file, written last and tied to the pom's content, tells a complete install from
    an interrupted one or one made for another pin, so later calls return at once without
    starting Maven. A file lock lets parallel test processes share one cache safely. Maven's
    own repository (``~/.m2``) keeps the downloads, so a re-install after a pin change or a
    cleared cache works offline for artifacts fetched before.
    """
    pom_file = _pom_path(pom)
    version = kafka_version(pom_file)
    target = Path(cache_dir).expanduser() if cache_dir else default_cache_dir(version)
    fingerprint = hashlib.sha256(pom_file.read_bytes()).hexdigest()
    if _installed(target, fingerprint):
        return target
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed(target, fingerprint):
            return target
        _run_maven(pom_file, version, target, fingerprint)
    return target


#: The name the tools' face gives :func:`install` (beside the embedded broker, "install" alone says too little).
install_kafka = install


def _run_maven(pom: Path, version: str, target: Path, fingerprint: str) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaInstallError(
            "Maven is needed to fetch Apache Kafka but `mvn` is not on PATH "
            "(on Debian: apt-get install maven)"
        )
    _java_executable()
    (target / _MARKER).unlink(missing_ok=True)
    for stale in target.glob("*.jar"):
        stale.unlink()
    print(
        f"installing Apache Kafka {version} into {target} with Maven", file=sys.stderr, flush=True
    )
    started = time.monotonic()
    command = [mvn, "-B", "-q", "-f", str(pom), "package", f"-Dkafka.libs={target}"]
    result = subprocess.run(command, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        output = _ANSI.sub("", result.stdout + result.stderr).strip().splitlines()
        tail = "\n".join(output[-40:])
        raise KafkaInstallError(
            f"Maven failed (exit code {result.returncode}) to fetch Apache Kafka {version}: "
            f"{' '.join(command)}\n{tail}"
        )
    jars = sorted(p.name for p in target.glob("*.jar"))
    if f"kafka_2.13-{version}.jar" not in jars:
        raise KafkaInstallError(
            f"Maven succeeded but {target} has no kafka_2.13-{version}.jar: {jars}"
        )
    marker = {"kafka_version": version, "fingerprint": fingerprint, "jars": jars}
    partial = target / f"{_MARKER}.partial"
    partial.write_text(json.dumps(marker, indent=2) + "\n")
    partial.replace(target / _MARKER)
    elapsed = time.monotonic() - started
    print(
        f"installed Apache Kafka {version} ({len(jars)} jars) in {elapsed:.1f} s",
        file=sys.stderr,
        flush=True,
    )


# --------------------------------------------------------------------------------------------
# TLS material


@dataclass(frozen=True)
class TlsMaterial:
    """PEM files of a private CA, a broker certificate it signed, and a client certificate.

    Keys are unencrypted PKCS#8, the form Kafka reads from ``ssl.keystore.key`` without an
    ``ssl.key.password``, and that librdkafka reads from ``ssl.key.location``.
    """

    ca_cert: Path
    broker_cert: Path
    broker_key: Path
    client_cert: Path
    client_key: Path


_OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = {san}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def generate_tls_material(
    directory: Path | str,
    *,
    hosts: Sequence[str] = ("127.0.0.1", "localhost"),
    client_name: str = "scorer-test-client",
    ca_name: str = "scorer test CA",
    days: int = 30,
) -> TlsMaterial:
    """Write a fresh CA, a broker certificate for ``hosts`` and a client certificate.

    Each call makes a new CA, so two calls give two CAs that do not trust each other: the
    way to test that a client refuses a broker it was not told to trust. The broker
    certificate names every host as a subject alternative name (IP or DNS), because
    librdkafka checks the broker's host name by default. Keys are ECDSA P-256: quick to make
    and accepted by both Java and OpenSSL.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ApacheKafkaError("the `openssl` command is needed to make test certificates")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    san = ",".join(
        f"IP:{host}"
        if re.fullmatch(r"[0-9.]+|[0-9a-fA-F:]*:[0-9a-fA-F:]*", host)
        else f"DNS:{host}"
        for host in hosts
    )
    config = out / "openssl.cnf"
    config.write_text(_OPENSSL_CONFIG.format(san=san))

    def run(*args: str) -> None:
        result = subprocess.run([openssl, *args], check=False, capture_output=True, text=True)
        if result.returncode != 0:
            raise ApacheKafkaError(f"openssl {' '.join(args)} failed:\n{result.stderr.strip()}")

    def key(name: str) -> Path:
        path = out / f"{name}.key"
        run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))
        path.chmod(0o600)
        return path

    def sign(name: str, subject: str, extensions: str) -> tuple[Path, Path]:
        private = key(name)
        csr, cert = out / f"{name}.csr", out / f"{name}.pem"
        run(
            "req",
            "-config",
            str(config),
            "-new",
            "-key",
            str(private),
            "-subj",
            f"/CN={subject}",
            "-out",
            str(csr),
        )
        run(
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(ca_cert),
            "-CAkey",
            str(ca_key),
            "-set_serial",
            str(secrets.randbits(63)),
            "-days",
            str(days),
            "-sha256",
            "-extfile",
            str(config),
            "-extensions",
            extensions,
            "-out",
            str(cert),
        )
        csr.unlink()
        return cert, private

    ca_key = key("ca")
    ca_cert = out / "ca.pem"
    run(
        "req",
        "-config",
        str(config),
        "-x509",
        "-new",
        "-key",
        str(ca_key),
        "-sha256",
        "-days",
        str(days),
        "-subj",
        f"/CN={ca_name}",
        "-extensions",
        "ca",
        "-set_serial",
        str(secrets.randbits(63)),
        "-out",
        str(ca_cert),
    )
    broker_cert, broker_key = sign("broker", hosts[0], "server")
    client_cert, client_key = sign("client", client_name, "client")
    return TlsMaterial(ca_cert, broker_cert, broker_key, client_cert, client_key)


# --------------------------------------------------------------------------------------------
# The broker


@dataclass(frozen=True)
class Listener:
    """One client listener of the broker and the security it serves.

    ``sasl_mechanisms`` turns on SASL (any of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) with the
    broker's ``users``; ``tls`` serves TLS with that material's broker certificate;
    ``client_auth`` also requires a client certificate signed by the same CA (mutual TLS).
    Together they give PLAINTEXT, SASL_PLAINTEXT, SSL or SASL_SSL.
    """

    name: str = "CLIENT"
    sasl_mechanisms: tuple[str, ...] = ()
    tls: TlsMaterial | None = None
    client_auth: bool = False

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", self.name):
            raise ValueError(f"listener name {self.name!r}: use upper-case letters, digits, _")
        if self.name in _RESERVED_LISTENERS:
            raise ValueError(f"listener name {self.name!r} is reserved for the broker itself")
        unknown = set(self.sasl_mechanisms) - set(_SASL_MECHANISMS)
        if unknown:
            raise ValueError(
                f"unsupported SASL mechanisms {sorted(unknown)}: use {_SASL_MECHANISMS}"
            )
        if self.client_auth and self.tls is None:
            raise ValueError("client_auth (mutual TLS) needs tls material")

    @property
    def security_protocol(self) -> str:
        if self.sasl_mechanisms:
            return "SASL_SSL" if self.tls else "SASL_PLAINTEXT"
        return "SSL" if self.tls else "PLAINTEXT"


_LOG4J2 = """\
status = warn
shutdownHook = disable
appender.out.type = Console
appender.out.name = out
appender.out.target = SYSTEM_OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
"""

_DEFAULT_JVM_OPTIONS = (
    "-Xms128m",
    # The serial collector and the C1-only JIT take about half the CPU time that Kafka's own
    # G1 and C2 settings take to reach ready, which counts on a 2-core machine where the
    # tests and the broker share the cores; a test broker never needs C2's peak speed.
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Djava.awt.headless=true",
)

_live: weakref.WeakSet[ApacheKafka] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for kafka in list(_live):
        kafka.stop()


class ApacheKafka:
    """One Apache Kafka process in KRaft combined mode (broker and controller, node 1).

    Ports are picked when the object is made, so ``bootstrap`` and ``client_config()`` can be
    read before ``start()`` and stay the same across ``restart()``. The log directory lives
    under ``run_dir`` and is formatted only on the first start, so a restart (or a new object
    on the same ``run_dir``) keeps topics, messages, committed offsets and SCRAM users. The
    broker's output goes to ``run_dir/broker.log``, whose tail is part of every start error.

    ``properties`` override or add broker settings; ``users`` maps user names to passwords
    for SASL (PLAIN reads them from the JAAS config, SCRAM users are written into the
    metadata log at format time).
    """

    def __init__(
        self,
        run_dir: Path | str,
        *,
        listeners: Sequence[Listener] = (Listener(),),
        users: Mapping[str, str] | None = None,
        properties: Mapping[str, str | int | bool] | None = None,
        libs: Path | str | None = None,
        heap: str = "512m",
        jvm_options: Sequence[str] = _DEFAULT_JVM_OPTIONS,
        start_timeout: float = 90.0,
        die_with_parent: bool = True,
    ) -> None:
        if not listeners:
            raise ValueError("a broker needs at least one client listener")
        names = [listener.name for listener in listeners]
        if len(set(names)) != len(names):
            raise ValueError(f"listener names must be unique: {names}")
        self.users = dict(users or {})
        for name, password in self.users.items():
            if not (_CREDENTIAL.match(name) and _CREDENTIAL.match(password)):
                raise ValueError(f'user {name!r}: no whitespace or any of " \\ , = [ ] ; allowed')
        self.run_dir = Path(run_dir).resolve()
        self.listeners = tuple(listeners)
        self.properties = {
            k: str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in (properties or {}).items()
        }
        self._libs = Path(libs) if libs else None
        self.heap = heap
        self.jvm_options = tuple(jvm_options)
        self.start_timeout = start_timeout
        self.die_with_parent = die_with_parent
        self._internal_port, self._controller_port, *client_ports = free_ports(2 + len(names))
        self._client_ports = dict(zip(names, client_ports))
        self._cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self._process: subprocess.Popen[bytes] | None = None
        self._log_start = 0
        self.format_seconds: float | None = None
        """Wall time of the last storage format, or None if the log dir was already formatted."""
        self.start_seconds: float | None = None
        """Wall time of the last ``start()``: format (if any) to the first metadata answer."""

    # ---- addresses and client settings

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:PORT`` of the first client listener."""
        return self.bootstrap_of(self.listeners[0].name)

    @property
    def internal_bootstrap(self) -> str:
        """The PLAINTEXT listener used between broker and tools; no security, always on."""
        return f"127.0.0.1:{self._internal_port}"

    def bootstrap_of(self, listener: str) -> str:
        """``127.0.0.1:PORT`` of the named client listener."""
        return f"127.0.0.1:{self._client_ports[self.listener(listener).name]}"

    def listener(self, name: str) -> Listener:
        for listener in self.listeners:
            if listener.name == name:
                return listener
        raise KeyError(f"no listener {name!r}; listeners: {[x.name for x in self.listeners]}")

    def client_config(
        self,
        listener: str | None = None,
        *,
        user: str | None = None,
        password: str | None = None,
        mechanism: str | None = None,
    ) -> dict[str, Any]:
        """confluent-kafka (librdkafka) settings that connect to ``listener`` successfully.

        For SASL the first configured user and mechanism are the defaults; for TLS the
        client trusts the listener's CA, and presents the client certificate when the
        listener requires one. Tests of refusals start from this and change one setting.
        """
        spec = self.listener(listener) if listener else self.listeners[0]
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_of(spec.name),
            "security.protocol": spec.security_protocol,
        }
        if spec.sasl_mechanisms:
            if user is None:
                if not self.users:
                    raise ValueError(f"listener {spec.name} uses SASL but the broker has no users")
                user = next(iter(self.users))
            config["sasl.mechanism"] = mechanism or spec.sasl_mechanisms[0]
            config["sasl.username"] = user
            config["sasl.password"] = password if password is not None else self.users[user]
        if spec.tls:
            config["ssl.ca.location"] = str(spec.tls.ca_cert)
            config["ssl.endpoint.identification.algorithm"] = "https"
            if spec.client_auth:
                config["ssl.certificate.location"] = str(spec.tls.client_cert)
                config["ssl.key.location"] = str(spec.tls.client_key)
        return config

    # ---- files

    @property
    def libs(self) -> Path:
        if self._libs is None:
            self._libs = install()
        return self._libs

    @property
    def log_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "broker.log"

    @property
    def config_path(self) -> Path:
        return self.run_dir / "server.properties"

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no broker log)"
        return "\n".join(text.splitlines()[-lines:])

    def server_properties(self) -> dict[str, str]:
        """The broker's settings, as written to ``server.properties``."""
        protocols = {"INTERNAL": "PLAINTEXT", "CONTROLLER": "PLAINTEXT"}
        protocols.update({x.name: x.security_protocol for x in self.listeners})
        client_endpoints = [f"{x.name}://{self.bootstrap_of(x.name)}" for x in self.listeners]
        props: dict[str, str] = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self._controller_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "INTERNAL",
            "listeners": ",".join(
                [
                    f"INTERNAL://127.0.0.1:{self._internal_port}",
                    f"CONTROLLER://127.0.0.1:{self._controller_port}",
                    *client_endpoints,
                ]
            ),
            "advertised.listeners": ",".join(
                [f"INTERNAL://127.0.0.1:{self._internal_port}", *client_endpoints]
            ),
            "listener.security.protocol.map": ",".join(f"{k}:{v}" for k, v in protocols.items()),
            "log.dirs": str(self.log_dir),
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "group.initial.rebalance.delay.ms": "0",
            "offsets.topic.replication.factor": "1",
            # Internal topics are created on first use; 50 partitions each (the default) take
            # seconds to create on a small machine, and one node gains nothing from them.
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "share.coordinator.state.topic.num.partitions": "1",
        }
        for spec in self.listeners:
            props.update(self._listener_properties(spec))
        props.update(self.properties)
        return props

    def _listener_properties(self, spec: Listener) -> dict[str, str]:
        prefix = f"listener.name.{spec.name.lower()}."
        props: dict[str, str] = {}
        if spec.sasl_mechanisms:
            props[prefix + "sasl.enabled.mechanisms"] = ",".join(spec.sasl_mechanisms)
            for mechanism in spec.sasl_mechanisms:
                key = f"{prefix}{mechanism.lower()}.sasl.jaas.config"
                if mechanism == "PLAIN":
                    users = "".join(f' user_{u}="{p}"' for u, p in self.users.items())
                    props[key] = (
                        f"org.apache.kafka.common.security.plain.PlainLoginModule required{users};"
                    )
                else:
                    props[key] = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        if spec.tls:
            tls = spec.tls
            props.update(
                {
                    prefix + "ssl.keystore.type": "PEM",
                    prefix + "ssl.keystore.certificate.chain": tls.broker_cert.read_text()
                    + tls.ca_cert.read_text(),
                    prefix + "ssl.keystore.key": tls.broker_key.read_text(),
                    prefix + "ssl.truststore.type": "PEM",
                    prefix + "ssl.truststore.certificates": tls.ca_cert.read_text(),
                    prefix + "ssl.client.auth": "required" if spec.client_auth else "none",
                }
            )
        return props

    def _write_files(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        lines = [
            f"{key}={_escape_property(value)}" for key, value in self.server_properties().items()
        ]
        self.config_path.write_text("\n".join(lines) + "\n", encoding="ascii")
        self.config_path.chmod(0o600)
        (self.run_dir / "log4j2.properties").write_text(_LOG4J2)

    # ---- lifecycle

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _java_command(self, main_class: str, *args: str) -> list[str]:
        command = [
            _java_executable(),
            f"-Xmx{self.heap}",
            *self.jvm_options,
            f"-Dlog4j2.configurationFile={self.run_dir / 'log4j2.properties'}",
            "-cp",
            str(self.libs / "*"),
            main_class,
            *args,
        ]
        setpriv = shutil.which("setpriv") if self.die_with_parent else None
        if setpriv and sys.platform.startswith("linux"):
            # The broker ends with the Python process that started it even when that one is
            # killed outright, so a crashed test run leaves no JVM holding ports and memory.
            command = [setpriv, "--pdeathsig", "TERM", "--", *command]
        return command

    def _format(self) -> None:
        scram = sorted(
            {m for x in self.listeners for m in x.sasl_mechanisms if m in _SCRAM_MECHANISMS}
        )
        # One argument, not two: a base64 id may start with "-", which argparse takes for an option.
        args = ["format", "--config", str(self.config_path), f"--cluster-id={self._cluster_id}"]
        for mechanism in scram:
            for name, password in self.users.items():
                args += ["--add-scram", f"{mechanism}=[name={name},password={password}]"]
        started = time.monotonic()
        result = subprocess.run(
            self._java_command("kafka.tools.StorageTool", *args),
            check=False,
            capture_output=True,
            text=True,
        )
        with open(self.log_path, "a") as log:
            log.write(f"==== formatting {self.log_dir}\n{result.stdout}{result.stderr}")
        if result.returncode != 0:
            raise KafkaStartError(
                f"formatting the Kafka log dir {self.log_dir} failed (exit code "
                f"{result.returncode}):\n{(result.stdout + result.stderr).strip()[-4000:]}"
            )
        self.format_seconds = time.monotonic() - started

    def start(self) -> Self:
        """Format the log dir if it is new, start the broker and wait until it answers.

        Ready means: a metadata request on the internal listener is answered and every client
        listener accepts connections. Fails with the log tail if the JVM exits first or
        ``start_timeout`` passes (the process is then stopped).
        """
        if self.is_running:
            raise ApacheKafkaError(f"the broker in {self.run_dir} is already running")
        started = time.monotonic()
        self._write_files()
        self.format_seconds = None
        if not (self.log_dir / "meta.properties").is_file():
            self._format()
        with open(self.log_path, "ab") as log:
            log.write(
                f"==== starting Apache Kafka at {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode()
            )
            log.flush()
            self._log_start = log.tell()
            self._process = subprocess.Popen(
                self._java_command("kafka.Kafka", str(self.config_path)),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.run_dir,
                preexec_fn=die_with_parent,
            )
        _live.add(self)
        try:
            self._wait_ready(started + self.start_timeout)
        except BaseException:
            self.stop(timeout=10)
            raise
        self.start_seconds = time.monotonic() - started
        return self

    def _wait_ready(self, deadline: float) -> None:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        ports = [self._internal_port, *self._client_ports.values()]
        for port in ports:
            while not _accepts(port):
                self._check_alive()
                if time.monotonic() > deadline:
                    self._fail(f"port {port} did not open within {self.start_timeout:.0f} s")
                time.sleep(0.05)
        admin = AdminClient(
            {
                "bootstrap.servers": self.internal_bootstrap,
                "socket.connection.setup.timeout.ms": 2000,
            }
        )
        while True:
            self._check_alive()
            try:
                metadata = admin.list_topics(
                    timeout=max(0.5, min(2.0, deadline - time.monotonic()))
                )
                if metadata.brokers:
                    break
            except KafkaException:
                pass
            if time.monotonic() > deadline:
                self._fail(f"no metadata answer within {self.start_timeout:.0f} s")
            time.sleep(0.1)
        # Kafka opens its listeners one after another once request processing is enabled, so
        # the internal one can answer while a client port's bind is still to fail (a port
        # another process took accepts connections too). Started is what the server says last.
        while not self._logged_since_start(_STARTED):
            self._check_alive()
            if time.monotonic() > deadline:
                self._fail(f"not started within {self.start_timeout:.0f} s")
            time.sleep(0.05)

    def _logged_since_start(self, text: bytes) -> bool:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_start)
                return text in log.read()
        except OSError:
            return False

    def _check_alive(self) -> None:
        assert self._process is not None
        code = self._process.poll()
        if code is not None:
            self._fail(f"the broker exited with code {code} while starting")

    def _fail(self, reason: str) -> None:
        raise KafkaStartError(
            f"Apache Kafka in {self.run_dir}: {reason}\n"
            f"errors it logged:\n{self.logged_errors() or '(none)'}\n"
            f"last lines of {self.log_path}:\n{self.log_tail(30)}"
        )

    def logged_errors(self, limit: int = 10) -> str:
        """ERROR lines of the latest run, each with the exception line that follows it.

        A failed start ends with a long, orderly shutdown, so the cause is usually far above
        the tail of the log.
        """
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        starts = [i for i, line in enumerate(lines) if line.startswith("==== starting")]
        lines = lines[starts[-1] :] if starts else lines
        found: list[str] = []
        for i, line in enumerate(lines):
            if re.match(r"\[[^]]+\] (ERROR|FATAL) ", line):
                following = lines[i + 1] if i + 1 < len(lines) else ""
                found.append(
                    line if following.startswith(("[", "\t")) else f"{line}\n  {following}"
                )
        return "\n".join(found[:limit])

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (a clean shutdown that flushes logs), then SIGKILL after ``timeout``.

        Returns the exit code, or None if the broker was not running.
        """
        process, self._process = self._process, None
        _live.discard(self)
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def kill(self) -> int | None:
        """SIGKILL at once, as a crash or a power cut would: the next start recovers the logs.

        Returns the exit code, or None if the broker was not running.
        """
        process, self._process = self._process, None
        _live.discard(self)
        if process is None:
            return None
        process.kill()
        return process.wait()

    def restart(self) -> Self:
        """Stop and start again on the same log dir, ports and settings, without formatting."""
        self.stop()
        return self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"ApacheKafka({self.run_dir}, {self.bootstrap}, {state})"


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _escape_property(value: str) -> str:
    """Escape a value for ``java.util.Properties.load``: Latin-1 file, multi-line PEM values."""
    out: list[str] = []
    for i, char in enumerate(value):
        if char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif char == " " and i == 0:
            out.append("\\ ")
        elif ord(char) > 126 or ord(char) < 32:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Command line: `python -m scorer.tools.apache_kafka install|run`


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scorer.tools.apache_kafka",
        description="The pinned Apache Kafka broker for tests.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    install_cmd = commands.add_parser("install", help="fetch the Kafka jars into the cache")
    install_cmd.add_argument("--cache-dir", type=Path)
    run_cmd = commands.add_parser("run", help="run a plaintext broker until Ctrl-C")
    run_cmd.add_argument(
        "--run-dir", type=Path, help="log dir and broker log (default: a temporary folder)"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        if args.command == "install":
            print(install(args.cache_dir))
            return 0
        run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="scorer-kafka-"))
        with ApacheKafka(run_dir) as kafka:
            print(
                f"Apache Kafka {kafka_version()} on {kafka.bootstrap} (log: {kafka.log_path}); "
                f"Ctrl-C stops it",
                flush=True,
            )
            try:
                while kafka.is_running:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
        return 0
    except ApacheKafkaError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
