"""The S3 server (versitygw, as test/peers/s3.ts starts it) for the sample's tests."""

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
VERSITYGW = ROOT / ".tools" / "bin" / "versitygw"
# The sample's task module, imported as the worker would (`--module etl_tasks` from examples/python).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def s3() -> Iterator[dict[str, str]]:
    """A running versitygw on a temp dir: endpoint, region and root credentials."""
    if not VERSITYGW.exists():
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "peers" / "install-versitygw.sh")],
            check=True,
        )
    with tempfile.TemporaryDirectory(prefix="maestro-s3-") as folder:
        root, sidecar = Path(folder) / "buckets", Path(folder) / "meta"
        root.mkdir()
        sidecar.mkdir()
        port = free_port()
        peer = {
            "endpoint": f"http://127.0.0.1:{port}",
            "region": "us-east-1",
            "access": "etl-test",
            "secret": "etl-test-secret",
        }
        args = [
            str(VERSITYGW),
            "--port",
            f"127.0.0.1:{port}",
            "--access",
            peer["access"],
            "--secret",
            peer["secret"],
        ]
        args += [
            "--region",
            peer["region"],
            "--quiet",
            "posix",
            "--sidecar",
            str(sidecar),
            str(root),
        ]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            while True:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"versitygw did not start: {process.stderr.read() if process.stderr else ''!r}")
                time.sleep(0.1)
            yield peer
        finally:
            process.terminate()
            process.wait(10)
