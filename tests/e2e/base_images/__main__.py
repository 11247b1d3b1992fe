"""`python -m tests.e2e.base_images ensure`: make the four pinned base images available."""

from tests.e2e.base_images.cli import main

raise SystemExit(main())
