"""A devnet for the image smoke tests, driven only through the `devnet` command line and the
endpoints it exports: `devnet up` in the background, `devnet env`, `devnet down`, the L1's
JSON-RPC and the sequencer's control API (faults, status)."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .container import STATE_DIR, Run, SmokeError

# InputBox.addInput(address,bytes): the first four bytes of the Keccak-256 of its signature.
ADD_INPUT_SELECTOR = "1789cd63"
# The anvil account of the devnet's direct inputs (counted by the wallet, no balance change):
# each one makes the sequencer seal a batch and land it on L1.
DIRECT_INPUT_ACCOUNT = 8


def deadline_poll(what: str, probe, timeout: float, interval: float = 0.1):
    """Calls `probe` until it returns something truthy; SmokeError after `timeout` seconds."""
    end = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > end:
            raise SmokeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def add_input_calldata(app: str, payload: bytes) -> str:
    """ABI-encoded `addInput(app, payload)`."""
    words = -(-len(payload) // 32)
    return (
        "0x"
        + ADD_INPUT_SELECTOR
        + app.lower().removeprefix("0x").rjust(64, "0")
        + f"{64:064x}"
        + f"{len(payload):064x}"
        + payload.hex().ljust(words * 64, "0")
    )


def http_json(url: str, method: str = "GET", body: object | None = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


class Devnet:
    """`devnet up` in its own process group, and what `devnet env` says of it. Leaving the
    context stops the supervisor with SIGTERM (SIGKILL to its group after 60 s), then runs
    `devnet down`, which also cleans up after a supervisor that died."""

    def __init__(self, binary: Path, state_dir: Path):
        self.binary = binary
        self.state_dir = state_dir
        self.log = state_dir.parent / "devnet-up.log"
        self.process: subprocess.Popen | None = None
        self.env: dict[str, str] = {}
        self.rpc_id = 0

    def devnet(self, *args: str, timeout: float = 120) -> Run:
        command = [str(self.binary), "--state-dir", str(self.state_dir), *args]
        return Run.of(
            subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        )

    def __enter__(self) -> "Devnet":
        self.state_dir.parent.mkdir(parents=True, exist_ok=True)
        self.devnet("down")  # whatever an interrupted run left behind
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "--state-dir", str(self.state_dir), "up"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        try:
            self.wait_ready()
        except BaseException:
            self.__exit__()  # `with` leaves only what it entered
            raise
        return self

    def wait_ready(self) -> None:
        # `up` prints one JSON line once ready; the first run installs anvil before that.
        ready = json.loads(self.first_line(timeout=300))
        if ready.get("state") != "ready":
            raise SmokeError(f"devnet up: {ready}")
        env = self.devnet("env", "--format", "json")
        if env.code != 0:
            raise SmokeError(f"devnet env: {env.brief()}")
        self.env = json.loads(env.stdout)

    def first_line(self, timeout: float) -> str:
        assert self.process is not None and self.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        buffer = b""
        end = time.monotonic() + timeout
        while b"\n" not in buffer:
            left = end - time.monotonic()
            if left <= 0:
                raise SmokeError(f"devnet up was not ready within {timeout:.0f} s ({self.log})")
            if selector.select(left):
                chunk = os.read(self.process.stdout.fileno(), 4096)
                if not chunk:
                    tail = self.log.read_text(errors="replace").splitlines()[-10:]
                    raise SmokeError("devnet up exited before it was ready: " + " | ".join(tail))
                buffer += chunk
        return buffer.split(b"\n", 1)[0].decode()

    def __exit__(self, *exc: object) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        down = self.devnet("down")
        if down.code != 0:
            print(f"warning: devnet down: {down.brief()}", file=sys.stderr)

    def watchdog_env(self) -> dict[str, str]:
        """The watchdog's settings for this devnet, with the state directory in the volume."""
        env = {k: v for k, v in self.env.items() if k.startswith("CARTESI_WATCHDOG_")}
        env["CARTESI_WATCHDOG_STATE_DIR"] = STATE_DIR
        return env

    def l1(self, method: str, *params: object):
        self.rpc_id += 1
        body = {"jsonrpc": "2.0", "id": self.rpc_id, "method": method, "params": list(params)}
        answer = http_json(self.env["DEVNET_L1_RPC_URL"], "POST", body)
        if not isinstance(answer, dict) or "error" in answer:
            raise SmokeError(f"L1 {method}: {answer}")
        return answer["result"]

    def control(self, method: str, path: str, body: object | None = None) -> dict:
        answer = http_json(self.env["DEVNET_SEQUENCER_CONTROL_URL"] + path, method, body)
        if not isinstance(answer, dict):
            raise SmokeError(f"sequencer control {path}: {answer}")
        return answer

    def set_faults(self, *specs: str) -> None:
        """Arms exactly `specs` on the sequencer (none: disarms every fault)."""
        if specs:
            self.control("POST", "/faults", {"set": list(specs)})
        else:
            self.control("DELETE", "/faults")

    def inclusion_block(self) -> int:
        """The L1 block of the sequencer's finalized state."""
        return int(self.control("GET", "/status")["checkpoint"]["inclusion_block"])

    def finalized_block(self) -> int:
        block = self.l1("eth_getBlockByNumber", "finalized", False)
        return int(block["number"], 16) if isinstance(block, dict) else -1

    def direct_input(self, payload: bytes) -> None:
        """`InputBox.addInput(app, payload)` from the direct-input account, mined."""
        tx = {
            "from": self.l1("eth_accounts")[DIRECT_INPUT_ACCOUNT],
            "to": self.env["CARTESI_WATCHDOG_CONTRACTS_INPUT_BOX_ADDRESS"],
            "data": add_input_calldata(self.env["CARTESI_WATCHDOG_APP_ADDRESS"], payload),
        }
        tx_hash = self.l1("eth_sendTransaction", tx)
        receipt = deadline_poll(
            "the direct input to be mined",
            lambda: self.l1("eth_getTransactionReceipt", tx_hash),
            timeout=60,
        )
        if receipt.get("status") != "0x1":
            raise SmokeError(f"addInput reverted: {receipt}")

    def new_finalized_state(self, payload: bytes) -> int:
        """Sends a direct input, waits until the sequencer's finalized state includes it and L1
        has finalized that block, and returns the block."""
        before = self.inclusion_block()
        self.direct_input(payload)

        def landed() -> int | None:
            block = self.inclusion_block()
            return block if block > before else None

        block = deadline_poll(f"the sequencer to land a batch past block {before}", landed, 120)
        deadline_poll(
            f"L1 to finalize block {block}", lambda: self.finalized_block() >= block, timeout=120
        )
        return block
