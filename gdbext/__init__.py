"""idtscope: read and explain the x86 interrupt architecture of a guest.

The package is split by domain: ``model`` decodes bytes into values and knows
nothing of gdb; ``target`` says where bytes and registers come from;
``commands`` turn a target and arguments into result data; ``render`` turns
result data into text or JSON.

Offline commands start in a few tens of milliseconds (bench/startup.py), so
code on their path avoids slow imports: values are ``model.record`` records
rather than dataclasses, ``typing`` is imported only for the type checker
(``TYPE_CHECKING = False`` guards, which mypy and pyright honour), and heavy
dependencies are imported inside the functions that need them.
"""

__version__ = "0.1.0"
