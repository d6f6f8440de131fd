"""The sections of docs/json.md whose documents need a live guest: `snapshot`,
`break`, `symbols` and the MCP server's attach, open_snapshot and run control,
held to the rules of tests/unit/test_docs_json.py on the demo guest (long64)."""

import json

from gdbext.symbols import SymbolTable
from shell.guests.run import RunningGuest
from shell.mcp_server import Adapter
from shell.session import Session
from tests.unit.test_docs_json import SNAPSHOTS, check


def test_live_documents_match(long64, tmp_path):
    scenario = SymbolTable.load(long64.elf).address_of(long64.layout["symbols"]["scenario"])
    documents: dict[str, list[dict]] = {}

    def keep(section, document):
        """``document`` as a client reads it: the MCP server sends json.dumps of what a tool returns."""
        documents.setdefault(section, []).append(json.loads(json.dumps(document)))

    with RunningGuest(long64) as guest:
        session = Session()
        agent = Adapter(session)
        try:
            keep("mcp attach", agent.call("attach", {"address": f"127.0.0.1:{guest.port}", "symbols": str(long64.elf)}))
            keep("symbols", json.loads(session.run("symbols --json")))
            keep("symbols", json.loads(session.run(f"symbols {long64.elf} --json")))
            keep("break", json.loads(session.run("break 3 --json")))
            session.run(f"gdb tbreak {long64.layout['symbols']['ready']}")
            keep("mcp continue", agent.call("continue", {"seconds": 20}))
            keep("mcp stepi", agent.call("stepi", {"count": 2}))
            keep("break", json.loads(session.run("break 14 --from user --json")))
            keep("break", json.loads(session.run("break list --json")))
            session.run(f"gdb set {{long long}}{scenario:#x} = 2")
            keep("mcp continue", agent.call("continue", {"seconds": 20}))
            keep("break", json.loads(session.run("break delete 1 --json")))
            keep("snapshot", json.loads(session.run(f"snapshot save {tmp_path / 'pf.json'} --json")))
            keep("mcp continue", agent.call("continue", {"seconds": 0.5}))
            keep("mcp interrupt", agent.call("interrupt", {}))
        finally:
            session.close()
    keep("mcp open_snapshot", Adapter(Session()).call("open_snapshot", {"path": str(SNAPSHOTS / "long64.json")}))
    for section, found in documents.items():
        check(section, found)
