"""The idtscope TCG trace plugin: its C source and the code that builds it for a QEMU."""
