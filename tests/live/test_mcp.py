"""`idtscope mcp` driven by the MCP SDK's own client over stdio, on the long64 guest.

Two copies of the guest are stopped at guest_ready with scenario 2 (a user-mode
write to a not-present page, #PF) armed by a plain gdb: the server works on one,
the CLI (`idtscope --attach ... --json`) on the other, and both must give the same
documents. Then the server meets a bad argument and a dead guest, and keeps serving.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from gdbext.commands import registry
from gdbext.symbols import SymbolTable
from shell.guests.run import RunningGuest

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


def test_mcp_offline_tools_cover_every_command():
    """Every command of the registry is a tool (decode as decode_KIND), each with its help."""
    async def drive() -> dict:
        with anyio.fail_after(TIMEOUT):
            async with stdio_client(StdioServerParameters(command=IDTSCOPE, args=["mcp"])) as (read, write):
                async with ClientSession(read, write) as client:
                    await client.initialize()
                    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
                    assert "unknown tool" in one_line_error(await client.call_tool("nosuch", {}))
                    result = document(await client.call_tool("decode_pf", {"value": "0x15"}))
                    assert (result["user"], result["instruction_fetch"], result["present"]) == (True, True, True)
                    return tools

    tools = anyio.run(drive)
    for name in registry.names():
        parser = registry.parser(name)
        if name == "decode":
            assert {n for n in tools if n.startswith("decode_")} == {"decode_pf", "decode_selector", "decode_cp",
                                                                   "decode_rflags", "decode_cr0", "decode_cr4",
                                                                   "decode_efer", "decode_gate", "decode_desc",
                                                                   "decode_tss", "decode_frame"}
        elif name == "catch":
            assert {n for n in tools if n.startswith("catch_")} == {"catch_exception", "catch_triple-fault",
                                                                  "catch_list", "catch_delete"}
        else:
            assert tools[name].description == parser.description.strip(), name


def test_mcp_garbage_on_stdin_and_bad_start():
    """A line that is not JSON-RPC and a call with broken params leave the server answering;
    a start-up that cannot attach is one line on stderr and status 2."""
    lines = ["garbage",
             '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
             '"capabilities":{},"clientInfo":{"name":"test","version":"1"}}}',
             '{"jsonrpc":"2.0","method":"notifications/initialized"}',
             '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"idt","arguments":"x"}}',
             '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"explain","arguments":{"vector":13}}}']
    server = subprocess.Popen([IDTSCOPE, "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(30, server.kill)  # a server that stops answering fails the test, not hangs it
    watchdog.start()
    try:
        server.stdin.write("\n".join(lines) + "\n")
        server.stdin.flush()
        replies = {}
        while 3 not in replies:
            reply = json.loads(server.stdout.readline())
            replies[reply["id"]] = reply
        assert "error" in replies[2]
        assert json.loads(replies[3]["result"]["content"][0]["text"])["mnemonic"] == "#GP"
    finally:
        server.stdin.close()
        watchdog.cancel()
        assert server.wait(10) == 0
        assert "Traceback" not in server.stderr.read()

    failed = subprocess.run([IDTSCOPE, "mcp", "--snapshot", "/nonexistent/s.json"], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=30)
    assert (failed.returncode, failed.stdout) == (2, "")
    assert failed.stderr.count("\n") == 1 and failed.stderr.startswith("error: "), failed.stderr


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


def test_mcp_demo_serves_the_demo_guest_and_stops_it(long64, tmp_path):
    """`idtscope mcp --demo`: nothing but the protocol on stdout (no greeting), the guest
    stopped at its ready label, and its QEMU gone when the client leaves."""
    ready = SymbolTable.load(long64.elf).address_of(long64.layout["symbols"]["ready"])
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}

    async def drive() -> dict:
        with anyio.fail_after(TIMEOUT):
            params = StdioServerParameters(command=IDTSCOPE, args=["mcp", "--demo"], env=env)
            async with stdio_client(params) as (read, write):
                async with ClientSession(read, write) as client:
                    await client.initialize()
                    return document(await client.call_tool("regs", {}))

    regs = anyio.run(drive)
    assert (regs["mode"], regs["rip"]) == ("long", ready)
    assert not [pid for pid in os.listdir("/proc") if pid.isdigit() and qemu_of(pid, tmp_path)]


def qemu_of(pid: str, directory: Path) -> bool:
    """Whether process ``pid`` is a QEMU whose command line mentions ``directory``."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return argv[0].endswith(b"qemu-system-x86_64") and any(str(directory).encode() in a for a in argv)
