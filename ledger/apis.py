"""HTTP endpoints of ledger: validate input, call one service or selector, render output."""
