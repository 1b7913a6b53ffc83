"""``python -m fetchall``."""

from fetchall._entry import main

main()
