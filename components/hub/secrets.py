"""Secrets the stack generates once and keeps (pulumi-random, stored encrypted in state).

- the hub's cookie secret (hex, as JupyterHub reads JPY_COOKIE_SECRET): a replaced hub
  container keeps everyone logged in;
- CONFIGPROXY_AUTH_TOKEN, between the hub and its proxy;
- KG_AUTH_TOKEN, unless config gives one: the token notebooks present to the gateway
  (consumed by the gateway and z/OS components as `kg_auth_token`);
- the Prometheus scrape token: the hub's `prometheus` service holds it, with the one
  scope read:metrics (the `metrics_token` stack output);
- the status token: the hub's `status` service holds it, with list:users and
  read:servers only (`make status` reads who has a running server; `status_token`).

Each is wrapped in Output.secret so it stays secret in every input it flows into.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random


@dataclass(frozen=True)
class GeneratedSecretsArgs:
    kg_auth_token: pulumi.Output[str] | None = None  # KG_AUTH_TOKEN from config, if set


class GeneratedSecrets(pulumi.ComponentResource):
    cookie_secret: pulumi.Output[str]
    proxy_auth_token: pulumi.Output[str]
    kg_auth_token: pulumi.Output[str]
    metrics_token: pulumi.Output[str]
    status_token: pulumi.Output[str]

    def __init__(
        self, name: str, args: GeneratedSecretsArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("jupyterhub-zos:generated_secrets:GeneratedSecrets", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cookie = random.RandomBytes(f"{name}-cookie-secret", length=32, opts=child)
        self.cookie_secret = pulumi.Output.secret(cookie.hex)
        proxy = random.RandomPassword(f"{name}-proxy-token", length=48, special=False, opts=child)
        self.proxy_auth_token = pulumi.Output.secret(proxy.result)
        if args.kg_auth_token is not None:
            self.kg_auth_token = pulumi.Output.secret(args.kg_auth_token)
        else:
            kg = random.RandomPassword(f"{name}-kg-token", length=48, special=False, opts=child)
            self.kg_auth_token = pulumi.Output.secret(kg.result)
        metrics = random.RandomPassword(
            f"{name}-metrics-token", length=48, special=False, opts=child
        )
        self.metrics_token = pulumi.Output.secret(metrics.result)
        status = random.RandomPassword(f"{name}-status-token", length=48, special=False, opts=child)
        self.status_token = pulumi.Output.secret(status.result)
        self.register_outputs({})
