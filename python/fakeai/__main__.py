"""``python -m fakeai ...`` is the same as the ``fakeai`` command."""

from fakeai.cli import main

if __name__ == "__main__":
    main()
