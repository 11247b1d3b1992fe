"""jupyterhub-zos: a multi-user JupyterHub on a Docker host, kernels on a Kernel Gateway.

Thin on purpose: validate the stack's config once (nothing is registered if it is bad),
build the components, export what users need.
"""

import pulumi

from components.settings import load_settings

settings = load_settings()

pulumi.export("hub_url", f"https://{settings.hub.hostname}:{settings.hub.https_port}/")
pulumi.export("admin_users", list(settings.hub.admin_users))
