"""The standalone idtscope shell: one-shot commands, scripts on stdin, and a prompt."""
