"""`python -m pbxsim`: the `trunkctl simulate` command on its own."""

from pbxsim.cli import simulate

if __name__ == "__main__":
    simulate(prog_name="python -m pbxsim")
