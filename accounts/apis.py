"""HTTP endpoints of accounts: validate input, call one service or selector, render output."""
