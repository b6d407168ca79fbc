"""`python -m cli`: the same command as `chorus-etl`, for a checkout with no installed script."""

from cli import main

main()
