"""The pure queue core: ticket lifecycle, call ordering, numbering, wait estimates.

Nothing here does I/O or imports a framework; the store and the routers feed it plain values and
persist what it returns, so every rule can be tested exhaustively without a database.
"""
