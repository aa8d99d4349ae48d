"""`python -m diagnose.cli ...` is the `netpoll-diagnose` command."""
from diagnose.cli import main

main()
