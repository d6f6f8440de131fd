"""idtscope: read and explain the x86 interrupt architecture of a guest.

The package is split by domain: ``model`` decodes bytes into values and knows
nothing of gdb; ``target`` says where bytes and registers come from;
``commands`` turn a target and arguments into result data; ``render`` turns
result data into text or JSON.
"""

__version__ = "0.1.0"
