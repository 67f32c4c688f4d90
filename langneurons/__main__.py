"""``python -m langneurons``: the command line, also as ``torchrun -m langneurons`` runs it."""

import sys

from langneurons.run.cli import main

if __name__ == "__main__":
    sys.exit(main())
