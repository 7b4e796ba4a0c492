"""``python -m s2v_plugin``: the ``speckle2void`` command line."""

from .cli.main import main

if __name__ == "__main__":
    main()
