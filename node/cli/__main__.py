"""`python -m node.cli`: the same as the `credreg` command."""

from node.cli import main

main()
