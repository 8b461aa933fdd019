"""Drawing helpers both agents share: theme, fonts, layout arithmetic, common widgets, QR."""
