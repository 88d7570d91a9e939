"""``python -m explorer <verb>``: the command line (train, sample, evaluate, bench, gallery)."""

from explorer.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
