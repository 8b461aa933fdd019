"""Whether a token is still honoured, read from the API's database.

The one rule and the one set of reads that both processes use: the API's directory
(``publisher_api.store.directory``, cached and invalidated by its writer) and the standalone
broker (``python -m broker``, which hears of no commit and reads at every check). It sits below
the broker so the broker never imports the API's store; it knows only the few columns it reads
(``tests/unit/test_credentials.py`` checks them against the store's tables).
"""

from credentials.facts import DatabaseFacts, TokenFacts, read_engine, token_active

__all__ = ["DatabaseFacts", "TokenFacts", "read_engine", "token_active"]
