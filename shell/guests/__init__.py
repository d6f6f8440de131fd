"""The guest kernels idtscope is tested on, and the demo's: built from source with nasm.

``long64`` (the ``--demo`` guest) and ``common/`` live here so that they ship in the
wheel, with the code that builds (``build.py``) and boots (``run.py``) a guest from its
``layout.json`` (``layout.py``). The other test guests live in tests/guests/, which
adds its directory to ``layout.SOURCE_DIRS``. tests/guests/README.md describes them all.
"""
