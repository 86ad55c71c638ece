"""HTTP endpoints of payments: validate input, call one service or selector, render output."""
