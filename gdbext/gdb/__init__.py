"""What idtscope plugs into gdb besides its commands (these modules import ``gdb``)."""
