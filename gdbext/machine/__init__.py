"""Reading the machine's interrupt structures through a Target.

Each module reads one domain in as few target reads as it can (a whole table
in one read), decodes it with the pure model and caches the result for the
current stop. Nothing here prints.
"""
