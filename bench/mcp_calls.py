"""What an agent waits for with `idtscope mcp`: the server's start-up (spawn,
initialize, list the tools) and the round trip of a tool call, offline
(`explain`) and on the long64 guest, booted and stopped by the attach (`idt`:
the first call reads the table, later ones hit the per-stop cache, so the first
is timed on its own). Uses the SDK's stdio client, as an agent's host does.

Usage: .venv/bin/python bench/mcp_calls.py [RUNS]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402
from mcp import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

import tests.guests  # noqa: E402,F401  (builds into tests/guests/build/, finds prot32 and real16)
from shell.guests.build import build  # noqa: E402
from shell.guests.run import RunningGuest  # noqa: E402

IDTSCOPE = str(Path(sys.executable).parent / "idtscope")


async def session_figures(port: int, runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"start": [], "explain": [], "attach": [], "idt first": [], "idt cached": []}
    start = time.perf_counter()
    async with stdio_client(StdioServerParameters(command=IDTSCOPE, args=["mcp"])) as (read, write):
        async with ClientSession(read, write) as client:
            await client.initialize()
            await client.list_tools()
            times["start"].append(time.perf_counter() - start)
            for _ in range(runs):
                times["explain"].append(await timed(client, "explain", {"vector": 14}))
            times["attach"].append(await timed(client, "attach", {"address": f"127.0.0.1:{port}"}))
            times["idt first"].append(await timed(client, "idt", {}))
            for _ in range(runs):
                times["idt cached"].append(await timed(client, "idt", {}))
    return times


async def timed(client: ClientSession, name: str, arguments: dict) -> float:
    start = time.perf_counter()
    result = await client.call_tool(name, arguments)
    elapsed = time.perf_counter() - start
    if result.is_error:
        raise SystemExit(f"{name}: {result.content[0].text}")
    return elapsed


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    image = build("long64")
    figures: dict[str, list[float]] = {}
    for _ in range(3):
        with RunningGuest(image, stopped=False) as guest:
            guest.wait_for_serial("long64: ready", timeout=30)
            for key, values in anyio.run(session_figures, guest.port, runs).items():
                figures.setdefault(key, []).extend(values)
    for key, values in figures.items():
        print(f"{key:12} {statistics.median(values) * 1000:8.1f} ms (median of {len(values)})")


if __name__ == "__main__":
    main()
