"""A small Dockerfile reader: instructions, stages, ARG/ENV scoping, COPY sources, labels.

It understands what our Dockerfile uses (line continuations, comments, parser directives,
`FROM … AS name`, ARG/ENV declarations, `COPY`/`ADD` flags, `RUN --mount`, LABEL key=value
pairs) and refuses heredocs rather than misreading them.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

# Arguments BuildKit fills in for every stage that declares them.
AUTOMATIC_ARGS = frozenset(
    {
        "TARGETPLATFORM",
        "TARGETOS",
        "TARGETARCH",
        "TARGETVARIANT",
        "BUILDPLATFORM",
        "BUILDOS",
        "BUILDARCH",
        "BUILDVARIANT",
    }
)

# Variables a RUN may use without declaring them: the shell's own environment.
SHELL_ENVIRONMENT = frozenset({"PATH", "HOME", "PWD", "IFS"})

_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))")
_UPPER = re.compile(r"^[A-Z][A-Z0-9_]*$")


class DockerfileError(Exception):
    """The Dockerfile uses something this reader does not understand."""


@dataclass
class Instruction:
    """One instruction: its keyword (upper case), argument text and first line number."""

    keyword: str
    args: str
    line: int

    def references(self) -> list[str]:
        """Names used as `$NAME` or `${NAME…}`."""
        return [a or b for a, b in _REFERENCE.findall(self.args)]


@dataclass
class Stage:
    """A build stage: from `FROM` to the next `FROM`."""

    index: int
    name: str | None
    base: str
    line: int
    from_instruction: Instruction
    instructions: list[Instruction] = field(default_factory=list)


@dataclass
class Dockerfile:
    """The parsed file."""

    global_args: dict[str, str | None]
    global_instructions: list[Instruction]
    stages: list[Stage]

    def stage(self, name: str) -> Stage | None:
        """The stage called `name`, if any."""
        return next((s for s in self.stages if s.name == name), None)

    def arg_defaults(self) -> dict[str, list[tuple[str, int]]]:
        """Every ARG declared with a default, anywhere: name -> [(default, line)]."""
        out: dict[str, list[tuple[str, int]]] = {}
        for instruction in self.global_instructions + [
            i for s in self.stages for i in s.instructions
        ]:
            if instruction.keyword == "ARG":
                name, default = split_arg(instruction.args)
                if default is not None:
                    out.setdefault(name, []).append((default, instruction.line))
        return out


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Joins continuation lines and drops comments and blank lines: [(first line, text)]."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        out.append((start, " ".join(p for p in pending if p)))
        pending = []
    if pending:
        out.append((start, " ".join(p for p in pending if p)))
    return out


def split_arg(args: str) -> tuple[str, str | None]:
    """`NAME=default` or `NAME` -> (NAME, default or None)."""
    if "=" in args:
        name, default = args.split("=", 1)
        return name.strip(), default.strip().strip('"')
    return args.strip(), None


def env_names(args: str) -> list[str]:
    """Names an ENV instruction defines (`ENV A=1 B=2` or the legacy `ENV A 1`)."""
    tokens = shlex.split(args)
    if tokens and "=" not in tokens[0]:
        return [tokens[0]]
    return [t.split("=", 1)[0] for t in tokens if "=" in t]


def parse(text: str) -> Dockerfile:
    """Parses the text of a Dockerfile."""
    global_args: dict[str, str | None] = {}
    global_instructions: list[Instruction] = []
    stages: list[Stage] = []
    for line, logical in logical_lines(text):
        keyword, _, args = logical.partition(" ")
        instruction = Instruction(keyword.upper(), args.strip(), line)
        if "<<" in instruction.args and instruction.keyword in {"RUN", "COPY", "ADD"}:
            raise DockerfileError(f"line {line}: heredocs are not supported by release/verify")
        if instruction.keyword == "FROM":
            tokens = [t for t in instruction.args.split() if not t.startswith("--")]
            name = tokens[2] if len(tokens) >= 3 and tokens[1].upper() == "AS" else None
            base = tokens[0] if tokens else ""
            stages.append(Stage(len(stages), name, base, line, instruction))
        if not stages:
            global_instructions.append(instruction)
            if instruction.keyword == "ARG":
                name, default = split_arg(instruction.args)
                global_args[name] = default
        elif instruction.keyword != "FROM":
            stages[-1].instructions.append(instruction)
    return Dockerfile(global_args, global_instructions, stages)


def copy_parts(instruction: Instruction) -> tuple[dict[str, str], list[str], str]:
    """Splits COPY/ADD arguments into (flags, sources, destination)."""
    args = instruction.args.strip()
    if args.startswith("["):
        tokens = json.loads(args)
    else:
        tokens = shlex.split(args)
    flags: dict[str, str] = {}
    while tokens and tokens[0].startswith("--"):
        key, _, value = tokens.pop(0)[2:].partition("=")
        flags[key] = value
    if len(tokens) < 2:
        raise DockerfileError(
            f"line {instruction.line}: {instruction.keyword} needs a source and a destination"
        )
    return flags, tokens[:-1], tokens[-1]


def run_mount_stages(instruction: Instruction) -> list[str]:
    """Stages a `RUN --mount=…,from=<stage>` reads from."""
    stages = []
    for token in shlex.split(instruction.args):
        if not token.startswith("--mount="):
            if not token.startswith("--"):
                break
            continue
        for part in token[len("--mount=") :].split(","):
            key, _, value = part.partition("=")
            if key == "from":
                stages.append(value)
    return stages


def labels(stage: Stage) -> dict[str, tuple[str, int]]:
    """The stage's LABEL pairs: key -> (raw value, line)."""
    out: dict[str, tuple[str, int]] = {}
    for instruction in stage.instructions:
        if instruction.keyword == "LABEL":
            for token in shlex.split(instruction.args):
                key, _, value = token.partition("=")
                out[key] = (value, instruction.line)
    return out


def substitute(value: str, variables: dict[str, str]) -> str:
    """Expands `$NAME` and `${NAME}` from `variables` (unknown names expand to empty)."""
    return _REFERENCE.sub(lambda m: variables.get(m.group(1) or m.group(2), ""), value)


def scope_problems(dockerfile: Dockerfile) -> list[tuple[int, str]]:
    """Every variable used where no ARG or ENV declares it, and every stage ARG that has no
    value unless passed on the command line: [(line, message)]."""
    problems: list[tuple[int, str]] = []
    declared_anywhere = set(dockerfile.global_args)
    for stage in dockerfile.stages:
        for instruction in stage.instructions:
            if instruction.keyword == "ARG":
                declared_anywhere.add(split_arg(instruction.args)[0])

    for stage in dockerfile.stages:
        for name in stage.from_instruction.references():
            if name not in dockerfile.global_args:
                problems.append(
                    (stage.line, f"FROM uses ${name}, which no ARG before the first FROM declares")
                )
        in_scope: set[str] = set()
        for instruction in stage.instructions:
            for name in dict.fromkeys(instruction.references()):
                if name in in_scope:
                    continue
                if instruction.keyword == "RUN":
                    # Lower-case names are the shell's own variables; upper-case ones are ours.
                    if not _UPPER.match(name) or name in SHELL_ENVIRONMENT:
                        continue
                where = f"stage {stage.name or stage.index}"
                hint = " (declare it with ARG in this stage)" if name in declared_anywhere else ""
                message = f"{instruction.keyword} uses ${name}, undeclared in {where}{hint}"
                problems.append((instruction.line, message))
            if instruction.keyword == "ARG":
                name, default = split_arg(instruction.args)
                in_scope.add(name)
                if (
                    default is None
                    and name not in AUTOMATIC_ARGS
                    and dockerfile.global_args.get(name) is None
                ):
                    problems.append(
                        (instruction.line, f"ARG {name} has no default and no global default")
                    )
            elif instruction.keyword == "ENV":
                in_scope.update(env_names(instruction.args))
    return problems
