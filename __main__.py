"""jupyterhub-zos: a multi-user JupyterHub on a Docker host, kernels on a Kernel Gateway.

Thin on purpose: validate the stack's config once (nothing is registered if it is bad),
build the components, export what users need.
"""

import pulumi

from components.dev_directory import DevDirectory, DevDirectoryArgs
from components.generated_secrets import GeneratedSecrets, GeneratedSecretsArgs
from components.hub import Hub, HubArgs, notebook_container_name
from components.hub_tls import HubTls, HubTlsArgs
from components.images import Images, ImagesArgs
from components.network import Network, NetworkArgs
from components.settings import load_settings
from components.storage import Storage, StorageArgs

settings = load_settings()
hub_settings = settings.hub

network = Network("jupyterhub", NetworkArgs(hub_settings.network_name))
storage = Storage("jupyterhub", StorageArgs())
images = Images(
    "jupyterhub",
    ImagesArgs(
        project=settings.project,
        stack=settings.stack,
        notebook_image=hub_settings.notebook_image,
        dev_directory=settings.ldap.dev_directory,
    ),
)
secrets = GeneratedSecrets("jupyterhub", GeneratedSecretsArgs(settings.gateway.auth_token))
hub_tls = HubTls(
    "jupyterhub-tls",
    HubTlsArgs(hub_settings.hostname, hub_settings.tls_cert_pem, hub_settings.tls_key_pem),
)

# LDAP: the stack's own server, or the dev directory container.
hub_depends_on: list[pulumi.Resource] = []
dev_directory = None
if settings.ldap.dev_directory:
    dev_directory = DevDirectory(
        "jupyterhub-ldap",
        DevDirectoryArgs(
            users=hub_settings.users,
            image=images.ldap_image,
            network_name=network.name,
            tls=settings.ldap.tls,
        ),
    )
    ldap_host, ldap_ca_pem = dev_directory.host, dev_directory.ca_cert_pem
    hub_depends_on.append(dev_directory.container)
else:
    ldap_host, ldap_ca_pem = settings.ldap.host, settings.ldap.ca_cert_pem

# Kernel Gateway side (issue 4) fills these: the dev gateway's URL when KG_URL is unset,
# the users whose client certificates are delivered to the host, and the delivery
# resources the hub waits for. Until then a user without a certificate is refused at
# spawn with a clear message (the hub's pre-spawn hook).
kg_url = settings.gateway.url or ""
pki_users: list[str] = []

hub = Hub(
    "jupyterhub",
    HubArgs(
        hub=hub_settings,
        ldap=settings.ldap,
        gateway=settings.gateway,
        image=images.hub_image,
        notebook_image=images.notebook_image,
        network_name=network.name,
        data_volume_name=storage.data_volume_name,
        tls_cert_pem=hub_tls.cert_pem,
        tls_key_pem=hub_tls.key_pem,
        ldap_host=ldap_host,
        ldap_ca_pem=ldap_ca_pem,
        kg_url=kg_url,
        kg_auth_token=secrets.kg_auth_token,
        cookie_secret=secrets.cookie_secret,
        proxy_auth_token=secrets.proxy_auth_token,
        pki_users=pki_users,
        depends_on=hub_depends_on,
    ),
)

pulumi.export("hub_url", hub.url)
if hub_tls.ca_cert_pem is not None:  # our own CA: for users' browsers to trust
    pulumi.export("hub_ca_cert", hub_tls.ca_cert_pem)
pulumi.export("admin_users", list(hub_settings.admin_users))
pulumi.export("data_volume", storage.data_volume_name)
pulumi.export(
    "docker_logs",
    {
        "hub": "docker logs jupyterhub",
        **{user: f"docker logs {notebook_container_name(user)}" for user in hub_settings.users},
    },
)
if dev_directory is not None:
    pulumi.export("dev_passwords", pulumi.Output.secret(dev_directory.passwords))
