"""`sidecar-new` and `python -m generator` start here: the CLI, with start-up tuned."""

import gc


def main() -> None:
    # A run lasts a fraction of a second, yet while typer, jinja2 and yaml load (~35,000
    # objects, none of them garbage) the cyclic collector runs ~60 times (~9 ms of a render),
    # and the interpreter sweeps them all once more on exit (~10 ms). So: no collection while
    # running (reference counting still frees what a run drops; the wizard turns collection
    # back on), and on the way out everything alive is frozen, out of that last sweep.
    gc.disable()
    try:
        from generator.cli import main as run

        run()
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
