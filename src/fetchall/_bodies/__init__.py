"""Bodies on disk: file names under the output folder (``naming``), and bodies streamed
to a temporary file, hashed, and renamed into place only once complete (``saving``),
in folders walked level by level from the output folder's descriptor (``folders``).

Knows nothing of HTTP or of the engine. Imports only the shared values (``_model``,
``_origin``).
"""

from fetchall._bodies.saving import BodyWriter, Saver

__all__ = ["BodyWriter", "Saver"]
