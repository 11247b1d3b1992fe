"""Pulumi components of jupyterhub-zos: one module per ComponentResource, plus the
pure renderers they use (settings in, text out)."""
