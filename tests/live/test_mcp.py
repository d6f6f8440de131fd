"""`idtscope mcp` driven by the MCP SDK's own client over stdio, on the long64 guest.

Two copies of the guest are stopped at guest_ready with scenario 2 (a user-mode
write to a not-present page, #PF) armed by a plain gdb: the server works on one,
the CLI (`idtscope --attach ... --json`) on the other, and both must give the same
documents. Then the server meets a bad argument and a dead guest, and keeps serving.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from gdbext.commands import registry
from gdbext.symbols import SymbolTable
from tests.guests.run import RunningGuest

IDTSCOPE = str(Path(sys.executable).parent / "idtscope")
SCENARIO_PF = 2
TIMEOUT = 150


@contextlib.contextmanager
def armed_guest(image, scenario: int):
    """QEMU stopped at guest_ready with ``scenario`` written, and no debugger attached."""
    address = SymbolTable.load(image.elf).address_of(image.layout["symbols"]["scenario"])
    with RunningGuest(image) as guest:
        subprocess.run(["gdb", "-nx", "-batch", "-ex", "set architecture i386:x86-64",
                        "-ex", f"target remote 127.0.0.1:{guest.port}", "-ex", f"symbol-file {image.elf}",
                        "-ex", f"tbreak {image.layout['symbols']['ready']}", "-ex", "continue",
                        "-ex", f"set {{long long}}{address:#x} = {scenario}", "-ex", "disconnect"],
                       check=True, capture_output=True, timeout=60)
        yield guest


def cli(*argv: str) -> str:
    result = subprocess.run([IDTSCOPE, *argv], capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    return result.stdout


def last_document(text: str) -> object:
    """The last JSON document of a one-shot run (documents start with a line `{`)."""
    return json.loads(text[text.rindex("\n{\n") + 1:])


def document(result) -> object:
    assert not result.is_error, result.content[0].text
    data = json.loads(result.content[0].text)
    assert result.structured_content == (data if isinstance(data, dict) else {"result": data})
    return data


def one_line_error(result) -> str:
    assert result.is_error
    text = result.content[0].text
    assert "\n" not in text.strip() and "Traceback" not in text, text
    return text


def test_mcp_tools_match_the_cli(long64, tmp_path):
    with armed_guest(long64, SCENARIO_PF) as other:
        address = f"127.0.0.1:{other.port}"
        out = cli("--attach", address, "--symbols", str(long64.elf), "-c", "idt --json", "-c", "break 14",
                  "-c", "continue 60", "-c", "frame --json")
    cli_idt, end = json.JSONDecoder().raw_decode(out)
    cli_frame = last_document(out[end:])
    cli_explain = json.loads(cli("-c", "explain 8 --json"))

    errlog = open(tmp_path / "server.stderr", "w")
    with armed_guest(long64, SCENARIO_PF) as guest:
        async def drive() -> None:
            params = StdioServerParameters(command=IDTSCOPE, args=["mcp"])
            with anyio.fail_after(TIMEOUT):
                async with stdio_client(params, errlog=errlog) as (read, write):
                    async with ClientSession(read, write) as client:
                        await client.initialize()
                        await check_tools(client)
                        await check_guest(client, guest)

        async def check_tools(client) -> None:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert {"attach", "open_snapshot", "continue", "interrupt", "stepi", "break", "idt", "frame",
                    "explain", "decode_pf", "decode_frame", "log", "lint", "walk"} <= set(tools)
            assert tools["idt"].description == registry.parser("idt").description.strip()
            assert set(tools["idt"].input_schema["properties"]) == {"which", "all", "disasm", "cpu"}
            assert set(tools["break"].input_schema["properties"]) >= {"what", "from", "error_code", "hw"}
            assert tools["decode_pf"].input_schema["required"] == ["value"]
            assert document(await client.call_tool("explain", {"vector": 8})) == cli_explain

        async def check_guest(client, guest) -> None:
            attached = document(await client.call_tool("attach", {"address": f"127.0.0.1:{guest.port}",
                                                                  "symbols": str(long64.elf)}))
            assert (attached["cpus"], attached["state"]) == (2, "stopped")
            assert document(await client.call_tool("idt", {})) == cli_idt

            document(await client.call_tool("break", {"what": ["14"]}))
            stop = document(await client.call_tool("continue", {"seconds": 60}))
            assert stop["state"] == "stopped" and stop["report"] is not None, stop
            frame = document(await client.call_tool("frame", {}))
            assert frame == cli_frame
            event = long64.layout["scenarios"][SCENARIO_PF]["events"][0]
            assert (frame["vector"], frame["error_code"], frame["cr2"]) == \
                (event["vector"], event["error_code"], event["cr2"])

            assert "300" in one_line_error(await client.call_tool("idt", {"which": 300}))
            assert "unknown argument" in one_line_error(await client.call_tool("idt", {"vector": 3}))
            assert "seconds" in one_line_error(await client.call_tool("continue", {"seconds": -1}))

            guest.stop()
            one_line_error(await client.call_tool("idt", {}))
            one_line_error(await client.call_tool("continue", {"seconds": 1}))
            assert document(await client.call_tool("explain", {"vector": 8})) == cli_explain

        anyio.run(drive)
    errlog.close()
