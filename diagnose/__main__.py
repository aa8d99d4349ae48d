"""`python -m diagnose ...` is the `netpoll-diagnose` command (the bot's child processes use it)."""
from diagnose.cli import main

main()
