"""Write the server's OpenAPI document to a file: the contract the web client is typed
against (``make openapi`` → web/openapi.json → ``npm run gen:api``)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from parta.app import create_app
from parta.config import Settings


def document() -> str:
    """The OpenAPI document as stable, diff-friendly JSON."""
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(Settings(data_dir=Path(data_dir)))
        return json.dumps(app.openapi(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "web/openapi.json")
    target.write_text(document(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
