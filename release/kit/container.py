"""The image under test, run through the docker client: one container per watchdog command, as
operators run it, and cleanup of everything created."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field

# The image's volume, and the state directory of the one application below it.
VOLUME_ROOT = "/var/lib/sequencer-watchdog"
STATE_DIR = f"{VOLUME_ROOT}/wallet"
EVENT_PREFIX = "watchdog_event "


class SmokeError(Exception):
    """A step could not be carried out; the checks after it cannot run."""


@dataclass
class Run:
    """One finished command: exit code, stdout, stderr."""

    code: int
    stdout: str
    stderr: str

    @classmethod
    def of(cls, done: subprocess.CompletedProcess[str]) -> "Run":
        return cls(done.returncode, done.stdout, done.stderr)

    @property
    def summary(self) -> dict:
        """The one JSON summary line on stdout ({} unless stdout is exactly one JSON object)."""
        lines = self.stdout.splitlines()
        if len(lines) != 1:
            return {}
        try:
            value = json.loads(lines[0])
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}

    @property
    def events(self) -> list[str]:
        """The `watchdog_event` lines on stderr."""
        return [line for line in self.stderr.splitlines() if line.startswith(EVENT_PREFIX)]

    def brief(self) -> str:
        tail = " | ".join(self.stderr.strip().splitlines()[-3:])
        return f"exit {self.code}, stdout {self.stdout.strip()!r}, stderr tail {tail!r}"


@dataclass
class Docker:
    """The docker client and the image; remembers the containers and volumes it made."""

    client: str
    image: str
    prefix: str
    containers: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    def command(self, *args: str, timeout: float = 300) -> Run:
        return Run.of(
            subprocess.run(
                [self.client, *args], capture_output=True, text=True, timeout=timeout, check=False
            )
        )

    def inspect(self, kind: str, name: str) -> dict:
        run = self.command(kind, "inspect", name)
        if run.code != 0:
            raise SmokeError(f"docker {kind} inspect {name}: {run.stderr.strip()}")
        return json.loads(run.stdout)[0]

    def offline(self, *args: str, entrypoint: str | None = None) -> Run:
        """A throw-away container of the image without a network."""
        flags = ["--entrypoint", entrypoint] if entrypoint else []
        return self.command("run", "--rm", "--network", "none", *flags, self.image, *args)

    def volume(self) -> str:
        name = f"{self.prefix}-state"
        run = self.command("volume", "create", name)
        if run.code != 0:
            raise SmokeError(f"docker volume create: {run.stderr.strip()}")
        self.volumes.append(name)
        return name

    def watchdog_command(self, volume: str, env: dict[str, str], args: tuple[str, ...]):
        """`docker run` of the entrypoint on the host's network with the volume and `env`."""
        name = f"{self.prefix}-{len(self.containers)}"
        self.containers.append(name)
        flags = ["run", "--rm", "--name", name, "--network", "host"]
        flags += ["--volume", f"{volume}:{VOLUME_ROOT}"]
        for key, value in sorted(env.items()):
            flags += ["--env", f"{key}={value}"]
        return [self.client, *flags, self.image, *args]

    def watchdog(self, volume: str, env: dict[str, str], *args: str) -> Run:
        """Runs a watchdog command in a fresh container, to the end."""
        command = self.watchdog_command(volume, env, args)
        return Run.of(
            subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        )

    def spawn_watchdog(self, volume: str, env: dict[str, str], *args: str) -> subprocess.Popen:
        """Starts a watchdog command in a fresh container, in the background."""
        command = self.watchdog_command(volume, env, args)
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def clean_up(self) -> None:
        """Removes the containers and the volumes these checks made. A container a signal just
        stopped may still be on its way out (`--rm`) and hold its volume for a moment."""
        for name in self.containers:
            self.command("rm", "--force", name, timeout=60)
        end = time.monotonic() + 30
        for name in self.volumes:
            while (removal := self.command("volume", "rm", "--force", name, timeout=60)).code:
                if time.monotonic() > end:
                    print(f"warning: volume {name} stays: {removal.brief()}", file=sys.stderr)
                    break
                time.sleep(0.2)

    def remove_leftovers(self, family: str) -> None:
        """Removes the volumes an interrupted earlier run left (named `<family>-*`)."""
        listed = self.command("volume", "ls", "--quiet", "--filter", f"name={family}-")
        for name in listed.stdout.split():
            if name.startswith(f"{family}-"):
                self.command("volume", "rm", "--force", name, timeout=60)
