"""`python -m trunkctl`: the console script without the script (tests and benchmarks)."""

from trunkctl.cli import main

if __name__ == "__main__":
    main()
