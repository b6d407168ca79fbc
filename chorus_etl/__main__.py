"""`python -m chorus_etl`: the same command as `chorus-etl`."""

from chorus_etl.cli import main

main()
