"""HTTP endpoints of wallets: validate input, call one service or selector, render output."""
