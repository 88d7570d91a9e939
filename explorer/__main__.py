"""``python -m explorer <verb>``: the command line (train, sample, evaluate, bench, loadtest; see explorer.cli)."""

from explorer.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
