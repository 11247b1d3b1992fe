"""jupyterhub-zos: a multi-user JupyterHub on a Docker host, kernels on a Kernel Gateway.

Thin on purpose: validate the stack's config once (nothing is registered if it is bad),
build the components, export what users need.
"""

import gc

import pulumi

from components.delivery.script import ssh_options
from components.directory.dev_directory import DevDirectory, DevDirectoryArgs
from components.docker.images import Images, ImagesArgs
from components.docker.network import Network, NetworkArgs
from components.docker.stack_check import check_stack_objects
from components.docker.storage import Storage, StorageArgs
from components.gateway.dev_gateway import DevGateway, DevGatewayArgs
from components.gateway.pki import GatewayPki, GatewayPkiArgs, server_hosts
from components.hub.container import Hub, HubArgs, HubClientCa
from components.hub.environment import HubEnvInputs, hub_environment
from components.hub.secrets import GeneratedSecrets, GeneratedSecretsArgs
from components.hub.tls import HubTls, HubTlsArgs
from components.settings import load_settings

# The program keeps every resource, Output and future alive to the end and makes almost
# no garbage cycles, so Python's full collections rescan a growing heap for nothing:
# about a third of the run at 1000 users (docs/benchmarks.md). Make them rare.
gc.set_threshold(700, 10, 1000)

settings = load_settings()
hub_settings = settings.hub
# docker:sshOpts: the delivery's ssh uses them as docker's does (checked before any resource).
docker_ssh_opts = ssh_options(pulumi.Config("docker").get("sshOpts"))
# Several stacks on one Docker host: this stack's names (the seed's on dev) and label.
# Another stack's objects under them, or its hub on HUB_HTTPS_PORT: refused, before any
# resource is declared (a read-only listing of the Docker host).
docker_names, labels = settings.names, settings.object_labels
check_stack_objects(settings)

network = Network("jupyterhub", NetworkArgs(hub_settings.network_name, labels=labels))
storage = Storage("jupyterhub", StorageArgs(docker_names.data_volume, labels=labels))
images = Images(
    "jupyterhub",
    ImagesArgs(
        project=settings.project,
        stack=settings.stack,
        notebook_image=hub_settings.notebook_image,
        dev_directory=settings.ldap.dev_directory,
        further_notebook_images=hub_settings.notebook_images,
    ),
)
secrets = GeneratedSecrets("jupyterhub", GeneratedSecretsArgs(settings.gateway.auth_token))
hub_tls = HubTls(
    "jupyterhub-tls",
    HubTlsArgs(hub_settings.hostname, hub_settings.tls_cert_pem, hub_settings.tls_key_pem),
)

# LDAP: the stack's own server, or the dev directory container.
hub_depends_on: list[pulumi.Resource] = []
hub_networks: list[pulumi.Output[str]] = []  # beyond the stack's network
if hub_settings.notebook_image or images.further_notebooks:
    # Only for images not built here: a stack with the built one does not load the check.
    from components.docker.notebook_check import NotebookCheck, NotebookCheckArgs
if hub_settings.notebook_image:  # not built here: check it has what hub and gateway need
    notebook_check = NotebookCheck(
        "jupyterhub-notebook-check",
        NotebookCheckArgs(images.notebook_image, hub_settings.notebook_image, settings.docker_host),
    )
    hub_depends_on.append(notebook_check.command)
for ref, image in images.further_notebooks.items():  # DOCKER_NOTEBOOK_IMAGES: checked alike
    choice_check = NotebookCheck(
        f"jupyterhub-notebook-check-{ref}",
        NotebookCheckArgs(image.repo_digest, ref, settings.docker_host, "DOCKER_NOTEBOOK_IMAGES"),
    )
    hub_depends_on.append(choice_check.command)
dev_directory = None
if settings.ldap.dev_directory:
    directory_network = Network(
        "jupyterhub-directory",
        NetworkArgs(docker_names.directory_network, internal=True, labels=labels),
    )
    hub_networks.append(directory_network.name)
    dev_directory = DevDirectory(
        "jupyterhub-ldap",
        DevDirectoryArgs(
            users=hub_settings.users,
            image=images.ldap_image,
            network_name=directory_network.name,
            tls=settings.ldap.tls,
            docker_host=settings.docker_host,
            ssh_opts=docker_ssh_opts,
            log_opts=hub_settings.logs.docker_log_opts,
            container_name=docker_names.directory_container,
            labels=labels,
        ),
    )
    ldap_host, ldap_ca_pem = dev_directory.host, dev_directory.ca_cert_pem
    hub_depends_on.append(dev_directory.container)
else:
    ldap_host, ldap_ca_pem = settings.ldap.host, settings.ldap.ca_cert_pem

# Kernel Gateway. Client certificates: the hub issues each user's at spawn from a client
# CA it holds (any user it lets in, no resource per user), unless the gateway is on z/OS
# behind AT-TLS: there RACF maps each certificate to that user's z/OS ID, so each
# ZOS_USERS entry gets a RACF certificate, which the program writes to
# <HUB_PKI_DIR>/<user> on the Docker host, and the hub refuses a spawn to others.
gateway = settings.gateway
gateway_pki = zos = None
client_ca: HubClientCa | None = None
pki_users: list[str] | None = None  # None: the hub issues everyone's
if settings.zos is None:
    gateway_pki = GatewayPki(
        "jupyterhub-gateway-pki",
        GatewayPkiArgs(
            server_hosts=server_hosts(
                docker_names.gateway_container if gateway.dev_gateway else None, gateway.url
            ),
        ),
    )
    client_ca = HubClientCa(
        key_pem=gateway_pki.client_ca.key_pem,
        cert_pem=gateway_pki.client_ca.cert_pem,
        gateway_ca_pem=gateway_pki.ca.cert_pem,
        pki_dir=hub_settings.pki_dir,
    )
else:
    # z/OS: RACF, AT-TLS and the gateway's config over SSH. Imported here: a stack
    # without ZOS_HOST does not pay for loading the z/OS renderers.
    from components.delivery.client_certs import PkiDelivery, PkiDeliveryArgs
    from components.zos.stack import ZosStack, ZosStackArgs

    zos = ZosStack(
        "jupyterhub-zos",
        ZosStackArgs(
            zos=settings.zos,
            stack=settings.stack,
            kg_url=gateway.url,
            auth_token=secrets.kg_auth_token,
        ),
    )
    if zos.client_ca is not None:  # ZOS_ATTLS=false: the gateway does TLS itself
        client_ca = HubClientCa(
            key_pem=zos.client_ca.key_pem,
            cert_pem=zos.client_ca.cert_pem,
            gateway_ca_pem=zos.server_ca_pem,
            pki_dir=hub_settings.pki_dir,
        )
    else:
        delivery = PkiDelivery(
            "jupyterhub-pki",
            PkiDeliveryArgs(
                user_pki=zos.user_pki,
                pki_dir=hub_settings.pki_dir,
                client_key=gateway.client_key,
                client_cert=gateway.client_cert,
                client_ca=gateway.client_ca,
                docker_host=settings.docker_host,
                ssh_opts=docker_ssh_opts,
            ),
        )
        pki_users = list(delivery.users)
        hub_depends_on += delivery.commands.values()

# KG_URL unset: the dev gateway container, with mutual TLS, is the stack's gateway.
kg_url = gateway.url
if gateway.dev_gateway:
    dev_gateway = DevGateway(
        "jupyterhub-gateway",
        DevGatewayArgs(
            project=settings.project,
            stack=settings.stack,
            network_name=network.name,
            server_cert_pem=gateway_pki.server.cert_pem,
            server_key_pem=gateway_pki.server.key_pem,
            client_ca_pem=gateway_pki.client_ca.cert_pem,
            auth_token=secrets.kg_auth_token,
            docker_host=settings.docker_host,
            ssh_opts=docker_ssh_opts,
            kernels=gateway.kernels,
            log_opts=hub_settings.logs.docker_log_opts,
            container_name=docker_names.gateway_container,
            labels=labels,
        ),
    )
    kg_url = dev_gateway.url
    hub_depends_on.append(dev_gateway.container)

hub_env = hub_environment(
    hub_settings,
    settings.ldap,
    gateway,
    HubEnvInputs(
        ldap_host=ldap_host,
        ldap_ca=ldap_ca_pem is not None,
        notebook_image=images.notebook_image,
        kg_url=kg_url,
        kg_auth_token=secrets.kg_auth_token,
        cookie_secret=secrets.cookie_secret,
        proxy_auth_token=secrets.proxy_auth_token,
        pki_users=tuple(pki_users or ()),
        metrics_token=secrets.metrics_token,
        notebook_choices=tuple(images.notebook_choices.items()),
        status_token=secrets.status_token,
        hub_issues_certs=client_ca is not None,
        stack_names=docker_names,
        stack_label=settings.label,
    ),
)
hub = Hub(
    "jupyterhub",
    HubArgs(
        environment=hub_env,
        image=images.hub_image,
        network_name=network.name,
        extra_networks=hub_networks,
        data_volume_name=storage.data_volume_name,
        https_port=hub_settings.https_port,
        hostname=hub_settings.hostname,
        tls_cert_pem=hub_tls.cert_pem,
        tls_key_pem=hub_tls.key_pem,
        ldap_ca_pem=ldap_ca_pem,
        ldap_search_password=settings.ldap.search_bind_password,
        pki_users=pki_users,
        client_ca=client_ca,
        docker_host=settings.docker_host,
        ssh_opts=docker_ssh_opts,
        depends_on=hub_depends_on,
        log_opts=hub_settings.logs.docker_log_opts,
        stack_names=docker_names,
        owner=settings.label,
        labels=labels,
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
        "hub": f"docker logs {docker_names.hub_container}",
        **{
            user: f"docker logs {docker_names.notebook_container_name(user)}"
            for user in hub_settings.users
        },
    },
)
if dev_directory is not None:
    pulumi.export("dev_passwords", pulumi.Output.secret(dev_directory.passwords))
if zos is not None and zos.client_ca is not None:
    # ZOS_ATTLS=false: what the gateway on z/OS trusts for client certificates.
    pulumi.export("gateway_client_ca_cert", zos.client_ca.cert_pem)
if zos is not None:
    pulumi.export(
        "zos_gateway",
        {
            "config": zos.gateway.config_path,
            "users": dict(settings.zos.users),
            "lifecycle": settings.zos.kg_lifecycle,
            "restart": zos.restart_note,
        },
    )
    if zos.admin_script is not None:
        # ZOS_RACF_MODE=admin: what the security administrator runs (no secret in it).
        pulumi.export("zos_admin_script", zos.admin_script)
    # When each RACF certificate ends ("<owner>/<label>" -> YYYY-MM-DD): renewed on the
    # first `up` inside ZOS_CERT_RENEW_DAYS of that date (components/zos/renewal.py).
    pulumi.export("zos_cert_expiry", zos.cert_expiry)
# For Prometheus: a bearer token for https://<hub>/hub/metrics with read:metrics only.
pulumi.export("metrics_token", secrets.metrics_token)
# For `make status`: who has a running server (list:users, read:servers), nothing else.
pulumi.export("status_token", secrets.status_token)
pulumi.export("kg_url", kg_url)
if pki_users is not None:  # RACF certificates (behind AT-TLS or admin mode), delivered
    pulumi.export("users_with_client_certs", pki_users)
if gateway_pki is not None:
    pulumi.export("gateway_ca_cert", gateway_pki.ca.cert_pem)
    # The CA the hub issues users' client certificates from: the gateway's client_ca.
    pulumi.export("gateway_client_ca_cert", gateway_pki.client_ca.cert_pem)
    if not gateway.dev_gateway:  # for the gateway at KG_URL: its certificate and key
        pulumi.export("gateway_server_cert", gateway_pki.server.cert_pem)
        pulumi.export("gateway_server_key", pulumi.Output.secret(gateway_pki.server.key_pem))
