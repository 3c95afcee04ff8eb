"""Send QMP commands to a test guest's QEMU (its monitor socket, .cache/vm/guests/NAME/qmp.sock).

    python3 vm/qmp.py SOCKET COMMAND[=JSON-ARGUMENTS]...

Runs the commands in order on one connection and prints each one's "return" value as one line of JSON.
A command QEMU refuses stops the run: its error is printed on stderr and the exit status is 1. Events
QEMU sends in between are skipped. Standard library only: it runs with the host's python3, before any
venv exists.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from typing import Any


def _reader(sock: socket.socket) -> Iterator[dict[str, Any]]:
    buffer = b""
    while True:
        while b"\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("QEMU closed the monitor connection")
            buffer += chunk
        line, buffer = buffer.split(b"\n", 1)
        if line.strip():
            message = json.loads(line)
            if isinstance(message, dict):
                yield message


def _reply(messages: Iterator[dict[str, Any]]) -> dict[str, Any]:
    for message in messages:
        if "return" in message or "error" in message:
            return message
    raise ConnectionError("no reply from QEMU")


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(60)
    sock.connect(argv[1])
    messages = _reader(sock)
    greeting = next(messages)
    if "QMP" not in greeting:
        print(f"qmp: not a QMP greeting: {greeting}", file=sys.stderr)
        return 1
    commands: list[tuple[str, dict[str, Any]]] = [("qmp_capabilities", {})]
    for spec in argv[2:]:
        name, _sep, arguments = spec.partition("=")
        commands.append((name, json.loads(arguments) if arguments else {}))
    for index, (name, arguments) in enumerate(commands):
        request: dict[str, Any] = {"execute": name}
        if arguments:
            request["arguments"] = arguments
        sock.sendall(json.dumps(request).encode() + b"\n")
        reply = _reply(messages)
        if "error" in reply:
            print(f"qmp: {name}: {reply['error'].get('desc', reply['error'])}", file=sys.stderr)
            return 1
        if index:
            print(json.dumps(reply["return"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
