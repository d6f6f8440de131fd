"""`idtscope mcp`: the shell's commands as Model Context Protocol tools, over stdio.

A thin adapter over one shell Session (shell/session.py). Each command of the
registry becomes a tool of the same name (``decode_pf`` and the like for the
sub-commands of ``decode``); its description and parameters are read from the
command's own argparse parser, so they cannot drift from the shell's. A call is
turned back into a command line with ``--json`` and run by ``Session.run``: the
result is the command's JSON document, and an IdtscopeError is a tool error
carrying its one line. ``attach``, ``open_snapshot`` and the run control
(``continue`` with a timeout, ``interrupt``, ``stepi``) come from the shell.

Calls run one at a time in a worker thread (the session drives one gdb). stdout
belongs to the protocol: the SDK's stdio transport points fd 1 at stderr while it
serves, so nothing else can reach the wire.
"""

from __future__ import annotations

import argparse
import json
import shlex
import threading

from gdbext import __version__
from gdbext.commands import registry
from gdbext.errors import IdtscopeError, UsageError

from .session import SHELL_COMMANDS, Session

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

#: ``continue`` waits this long when the call gives no ``seconds``, and never longer than the cap
CONTINUE_DEFAULT = 10.0
CONTINUE_MAX = 600.0

INSTRUCTIONS = """\
idtscope reads the x86 interrupt architecture (IDT, GDT/LDT, TSS, APIC/IOAPIC/PIC) of a QEMU
guest through its gdbstub and explains faults. Start with `attach` (a QEMU started with -s
listens on localhost:1234) or `open_snapshot`; `explain`, `vectors`, `decode_*` and `log` need
no guest. To catch a fault: `break` with what=["14"], then `continue` (it returns when the guest
stops or after `seconds`), then `frame`. Every tool returns one JSON document."""

_SCALAR = {"type": ["string", "integer"]}


class Tool:
    """One tool: its schema, and for a command how a call's arguments become its command line."""

    def __init__(self, name: str, description: str, properties: dict, required: list[str],
                 words: Callable[[dict], list[str]] | None = None) -> None:
        self.name = name
        self.description = description
        self.schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required,
                       "additionalProperties": False}
        self.words = words


def parameter_name(action: argparse.Action) -> str:
    """The parameter an argparse action becomes: its long option without dashes
    (``--error-code`` is ``error_code``), or a positional's name."""
    longs = [o for o in action.option_strings if o.startswith("--")]
    return (longs[0][2:] if longs else action.dest).replace("-", "_")


def parameter_schema(action: argparse.Action) -> dict:
    """The JSON schema of one argparse action's value."""
    if action.nargs == 0:
        schema: dict = {"type": "boolean"}
    else:
        item = {"enum": list(action.choices)} if action.choices else \
            {"type": "integer"} if action.type is int else dict(_SCALAR)
        many = action.nargs in ("*", "+") or isinstance(action, argparse._AppendAction)
        schema = {"type": "array", "items": item} if many else item
    text = action.help or ""
    if action.metavar and not action.option_strings:
        text = f"{action.metavar}: {text}"
    if text:
        schema["description"] = text
    if action.default not in (None, False, argparse.SUPPRESS) and action.nargs != 0:
        schema["default"] = action.default
    return schema


def command_tool(name: str, parser: argparse.ArgumentParser, head: list[str], description: str) -> Tool:
    """The tool of a command (or sub-command) whose arguments ``parser`` parses."""
    actions = {}
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) or action.dest == "json":
            continue
        actions[parameter_name(action)] = action
    required = [key for key, action in actions.items()
                if (action.required if action.option_strings else action.nargs not in ("?", "*"))]

    def words(arguments: dict) -> list[str]:
        unknown = sorted(set(arguments) - set(actions))
        if unknown:
            raise UsageError(f"{name}: unknown argument {', '.join(unknown)} "
                             f"(it takes: {', '.join(actions) or 'none'})")
        options: list[str] = []
        positionals: list[str] = []
        for key, action in actions.items():
            if key not in arguments or arguments[key] is None:
                continue
            if action.nargs == 0:
                if not isinstance(arguments[key], bool):
                    raise UsageError(f"{name}: {key} is true or false, got {arguments[key]!r}")
                if arguments[key]:
                    options.append(action.option_strings[-1])
                continue
            values = _values(name, key, arguments[key])
            if action.option_strings:
                options.extend(f"{action.option_strings[-1]}={value}" for value in values)
            else:
                positionals.extend(values)
        # "--": a positional value may start with a dash (a negative number is still a value)
        return [*head, *options, "--json", *(["--", *positionals] if positionals else [])]

    return Tool(name, description, {key: parameter_schema(a) for key, a in actions.items()}, required, words)


def _values(tool: str, key: str, value: object) -> list[str]:
    """A call's value as command-line words: a list gives one word per item."""
    items = value if isinstance(value, list) else [value]
    words = []
    for item in items:
        if isinstance(item, (str, int)) and not isinstance(item, bool):
            words.append(str(item))
        else:
            raise UsageError(f"{tool}: {key} takes a string or a number, got {item!r}")
    return words


def command_tools() -> list[Tool]:
    """A tool for each command of the registry, one for each sub-command of ``decode``."""
    tools = []
    for name in registry.names():
        parser = registry.parser(name)
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            tools.append(command_tool(name, parser, [name], (parser.description or "").strip()))
            continue
        helps = {choice.dest: choice.help for choice in subs[0]._choices_actions}
        for sub_name, sub in subs[0].choices.items():
            description = f"{sub.description or helps.get(sub_name, '')}\n\n{(parser.description or '').strip()}"
            tools.append(command_tool(f"{name}_{sub_name}", sub, [name, sub_name], description))
    return tools


def shell_tools() -> list[Tool]:
    """attach, open_snapshot and the run control: the shell's own commands (Adapter runs them)."""
    return [
        Tool("attach", SHELL_COMMANDS["attach"] + ", through gdb (breakpoints and run control work); "
             "symbols: an ELF, System.map or /proc/kallsyms text for handler names",
             {"address": {"type": "string", "description": "HOST:PORT of QEMU's gdbstub"},
              "symbols": {"type": "string", "description": "a symbol file (optional)"}},
             ["address"]),
        Tool("open_snapshot", "open a snapshot file saved by `snapshot` (read-only, no guest needed)",
             {"path": {"type": "string", "description": "the snapshot file"}}, ["path"]),
        Tool("continue", SHELL_COMMANDS["continue"] + f" (default {CONTINUE_DEFAULT:g}, at most {CONTINUE_MAX:g})",
             {"seconds": {"type": "number", "description": "how long to wait for a stop",
                          "default": CONTINUE_DEFAULT}}, []),
        Tool("interrupt", SHELL_COMMANDS["interrupt"].split(" (")[0], {}, []),
        Tool("stepi", SHELL_COMMANDS["stepi"],
             {"count": {"type": "integer", "description": "instructions to execute", "default": 1},
              "irqs": {"type": "boolean", "description": "let interrupts in while stepping"}},
             []),
    ]


class Adapter:
    """The tools over one Session; ``call`` returns the JSON document or raises IdtscopeError."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.tools = {tool.name: tool for tool in shell_tools() + command_tools()}
        self.lock = threading.Lock()
        self.shell = {"attach": self.attach, "open_snapshot": self.open_snapshot,
                      "continue": self.run_control, "interrupt": self.run_control, "stepi": self.run_control}

    def call(self, name: str, arguments: dict) -> Any:
        tool = self.tools.get(name)
        if tool is None:
            raise UsageError(f"unknown tool {name!r}")
        with self.lock:
            if name in self.shell:
                unknown = sorted(set(arguments) - set(tool.schema["properties"]))
                if unknown:
                    raise UsageError(f"{name}: unknown argument {', '.join(unknown)}")
                return self.shell[name](name, arguments)
            assert tool.words is not None  # every tool but the shell's own has its command line
            return json.loads(self.session.run(shlex.join(tool.words(arguments))))

    def attach(self, name: str, arguments: dict) -> dict:
        address = _text(name, arguments, "address")
        self.session.attach(address)
        target = self.session.context.target
        result = {"address": address, "cpus": len(target.cpus()),
                  "state": "running" if target.is_running() else "stopped", "symbols": None}
        if arguments.get("symbols") is not None:
            path = _text(name, arguments, "symbols")
            result["symbols"] = json.loads(self.session.run(shlex.join(["symbols", path, "--json"])))
        return result

    def open_snapshot(self, name: str, arguments: dict) -> dict:
        path = _text(name, arguments, "path")
        self.session.open_snapshot(path)
        return {"snapshot": path, "cpus": len(self.session.context.target.cpus())}

    def run_control(self, name: str, arguments: dict) -> dict:
        """continue/interrupt/stepi through the shell's builtins; the stop as data."""
        from .builtins import BUILTINS

        words: list[str] = []
        if name == "continue":
            seconds = arguments.get("seconds", CONTINUE_DEFAULT)
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= CONTINUE_MAX:
                raise UsageError(f"continue: seconds is a number in (0, {CONTINUE_MAX:g}], got {seconds!r}")
            words = [repr(float(seconds))]
        elif name == "stepi":
            words = _values(name, "count", arguments.get("count", 1))
            irqs = arguments.get("irqs", False)
            if not isinstance(irqs, bool):
                raise UsageError(f"stepi: irqs is true or false, got {irqs!r}")
            if irqs:
                words.append("--irqs")
        self.session.last_stop = None
        text = BUILTINS[name](self.session, words)
        stop = self.session.last_stop
        if stop is None:
            return {"state": "running", "message": text}
        return {"state": "stopped", **stop}


def _text(tool: str, arguments: dict, key: str) -> str:
    value = arguments.get(key)
    if not isinstance(value, str) or not value:
        raise UsageError(f"{tool}: {key} is a non-empty string, got {value!r}")
    return value


def serve(session: Session) -> int:
    """Serve the tools over stdin/stdout until the client closes the connection."""
    import anyio
    import mcp_types as types
    from mcp.server import Server
    from mcp.server.stdio import stdio_server

    adapter = Adapter(session)
    listing = [types.Tool(name=tool.name, description=tool.description, input_schema=tool.schema)
               for tool in adapter.tools.values()]

    async def list_tools(context: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listing)

    async def call_tool(context: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        arguments = params.arguments or {}
        try:
            data = await anyio.to_thread.run_sync(adapter.call, params.name, arguments)
        except IdtscopeError as error:
            return types.CallToolResult(content=[types.TextContent(text=str(error))], is_error=True)
        return types.CallToolResult(content=[types.TextContent(text=json.dumps(data, indent=2))],
                                    structured_content=data if isinstance(data, dict) else {"result": data})

    server = Server("idtscope", version=__version__, instructions=INSTRUCTIONS,
                    on_list_tools=list_tools, on_call_tool=call_tool)

    async def main() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(main)
    return 0
