"""End-to-end tests on a local Docker engine (marker `e2e`): stand-in base images, the
project's images built from images/*/, and what runs in them."""
