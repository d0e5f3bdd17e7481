"""Security checks against the running TorchServe: where it listens, whom it lets in, what it will
fetch, and which archives it will serve."""

import http.server
import ipaddress
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from models.catalog import ROOT
from scripts.server import APIS, GRPC_APIS, free_port, on_free_ports

TCP_LISTEN = "0A"


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (TorchServe's frontend and its Python workers)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                pass
    tree, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


def socket_inodes(pids: list[int]) -> set[str]:
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


def address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address of /proc/net/tcp{,6}: 32-bit words in the host's (little-endian) byte order."""
    raw = bytes.fromhex(hex_address)
    return ipaddress.ip_address(b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4)))


def listening_sockets(pids: list[int]) -> list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]]:
    """(address, port) of every TCP socket in LISTEN state that one of `pids` holds, read from the kernel."""
    inodes = socket_inodes(pids)
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == TCP_LISTEN and inode in inodes:
                host, port = local.split(":")
                found.append((address(host), int(port, 16)))
    return found


def is_loopback(ip) -> bool:
    return ip.is_loopback or (getattr(ip, "ipv4_mapped", None) is not None and ip.ipv4_mapped.is_loopback)


def test_every_socket_the_server_listens_on_is_on_loopback(server):
    pid = int(server.pid_file.read_text())
    sockets = listening_sockets(process_tree(pid))
    properties = dict(line.split("=", 1) for line in server.started.read_text().splitlines()
                      if "=" in line and not line.startswith("#"))
    expected = {int(properties[key].rsplit(":", 1)[1]) for key in
                ("inference_address", "management_address", "metrics_address")}
    expected |= {int(properties["grpc_inference_port"]), int(properties["grpc_management_port"])}
    assert {port for _, port in sockets} == expected, sockets
    assert all(is_loopback(ip) for ip, _ in sockets), sockets
    # The door in front (make serve's printed addresses): on loopback too, and on nothing else.
    door = listening_sockets(process_tree(int(server.door_pid_file.read_text())))
    door_ports = {int(server.door_address(api).rsplit(":", 1)[1]) for api in APIS}
    door_ports |= {int(server.door_grpc_address(api).rsplit(":", 1)[1]) for api in GRPC_APIS}
    assert {port for _, port in door} == door_ports, door
    assert all(is_loopback(ip) for ip, _ in door), door


def test_missing_wrong_and_swapped_keys_are_refused_everywhere(server):
    keys = server.keys()
    inference = (f"{server.inference_url}/predictions/bigram", "post", {"json": {"start_word": "the"}})
    management = (f"{server.management_url}/models", "get", {})
    token_api = (f"{server.management_url}/token", "get", {"params": {"type": "inference"}})
    for (url, method, kwargs), right in [(inference, "inference"), (management, "management"), (token_api, "API")]:
        wrong = [None, "", "Bearer", "Bearer wrong", f"Bearer {keys[right]}x", f"bearer{keys[right]}",
                 f"Basic {keys[right]}"] + [f"Bearer {keys[other]}" for other in keys if other != right]
        for authorization in wrong:
            headers = {} if authorization is None else {"Authorization": authorization}
            response = getattr(requests, method)(url, headers=headers, timeout=30, **kwargs)
            assert response.status_code in (400, 401, 403), (url, authorization, response.status_code)
            assert not any(key in response.text for key in keys.values()), (url, authorization)
    # The right keys still work, and the refused attempts did not renew anything.
    assert server.keys() == keys
    assert requests.post(inference[0], json={"start_word": "the"}, headers=server.headers("inference")).ok
    assert server.management("GET", "/models").ok


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (the standard library's name)
        RecordingHandler.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"PK\x03\x04 not an archive")

    def log_message(self, *args):
        pass


@pytest.fixture
def bait():
    """An HTTP server on loopback that records every request: nothing may ever fetch from it."""
    port = free_port()
    httpd = http.server.HTTPServer(("127.0.0.1", port), RecordingHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    RecordingHandler.hits.clear()
    yield f"127.0.0.1:{port}"
    httpd.shutdown()


def test_the_workflow_api_fetches_nothing(server, bait):
    for form in ["http://{bait}/evil.war", "https://{bait}/evil.war", "file:///etc/passwd", "../config.properties",
                 "/etc/passwd"]:
        url = form.format(bait=bait)
        response = server.management("POST", "/workflows", params={"url": url, "workflow_name": "evil"})
        assert 400 <= response.status_code < 500, (url, response.status_code, response.text)
    assert RecordingHandler.hits == []


def test_a_changed_archive_is_refused_by_name_at_start(model_store, tmp_path):
    store = Path(shutil.copytree(model_store, tmp_path / "store"))
    with open(store / "gan.mar", "ab") as archive:
        archive.write(b"\0")
    config = on_free_ports(Path(shutil.copy(ROOT / "config.properties", tmp_path)), model_store=str(store))
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "server.py"), "start", "--workdir",
                          str(tmp_path / "work"), "--config", str(config), "--model-store", str(store)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "gan.mar" in run.stderr and "sha256" in run.stderr, run.stderr
    assert not (tmp_path / "work" / "tmp" / ".model_server.pid").exists()  # TorchServe was never started
